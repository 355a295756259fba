"""The image methods' learning-rate warm-up on a world so small that a
quarter epoch is less than one iteration: mmengine turns the fractional
epochs into iterations by truncation, so the warm-up must be left out
there instead of spanning no iteration (which mmengine refuses)."""
import math
import os.path as osp

import pytest
import torch

ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))


@pytest.fixture(scope='module')
def tiny_world(tmp_path_factory):
    """A world of a few training images (one or two iterations an epoch)."""
    from granzsl_mm.proving_ground import build_synthetic_world
    data = str(tmp_path_factory.mktemp('tiny_world') / 'world')
    meta = build_synthetic_world(data, num_train=80, num_test=8, seed=1)
    return data, meta


def _epoch_length(cfg) -> int:
    """Iterations of one training epoch, as the Runner's dataloader has."""
    from granzsl_mm.registry import DATASETS
    loader = cfg.train_dataloader
    dataset = DATASETS.build(dict(loader.dataset, pipeline=[]))
    if loader.get('drop_last', False):
        return len(dataset) // loader.batch_size
    return math.ceil(len(dataset) / loader.batch_size)


@pytest.mark.parametrize('fname', ['mkt_demo.py', 'sigrl_demo.py',
                                   'dualcoop_demo.py',
                                   'recover_match_demo.py'])
def test_schedulers_build_with_one_epoch_of_few_images(tiny_world, fname):
    from mmengine.registry import PARAM_SCHEDULERS

    from granzsl_mm.proving_ground import stages
    data, meta = tiny_world
    cfg = stages.image_model_config(osp.join(ROOT, 'configs', fname), data,
                                    'unused.pt', meta, max_epochs=1)
    length = _epoch_length(cfg)
    assert 1 <= length < 4  # a quarter epoch truncates to 0 iterations
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1)
    spans = []
    for sched in cfg.param_scheduler:
        sched = dict(sched)
        kind = PARAM_SCHEDULERS.get(sched.pop('type'))
        if sched.pop('convert_to_iter_based', False):
            built = kind.build_iter_from_epoch(optimizer, epoch_length=length,
                                               **sched)
        else:
            built = kind(optimizer, **sched)
        spans.append((type(built).__name__, built.begin, built.end))
    # every scheduler spans at least one iteration, and the cosine covers
    # the whole run from the first iteration
    assert all(end - begin >= 1 for _, begin, end in spans), spans
    assert ('CosineAnnealingLR', 0, length) in spans, spans
