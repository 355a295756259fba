"""CLIP zero-shot configs: paper-scale values, tiny builds, a demo test run."""
import json
import os.path as osp

import pytest
import torch
from mmengine.config import Config

from granzsl_mm import register_all_modules
from granzsl_mm.registry import MODELS
from granzsl_mm.structures import CLASS_LISTS, read_class_names
from tests.fixtures.tiny_override import tiny_override

from .recomputed import (
    add_prediction_dump,
    assert_openimages_metrics,
    assert_same_metrics,
    zsl_metrics_from_dump,
)

ROOT = osp.join(osp.dirname(__file__), '..', '..')
SHARED_COCO = osp.join(ROOT, '..', 'shared', 'data', 'coco')


def _load(name):
    return Config.fromfile(osp.join(ROOT, 'configs', name))


def test_coco_config_matches_the_papers_split():
    cfg = _load('clip_zeroshot_coco.py')
    m = cfg.model
    assert m.type == 'ZeroShotMultiLabelClassifier'
    assert (m.backbone.arch, m.backbone.pretrained) == ('ViT-B-16', 'openai')
    assert m.score_act == 'none' and m.vocabulary == 'all'
    names, num_seen = read_class_names(m.class_names)
    assert len(names) == 65 and m.num_seen_classes == num_seen == 48
    assert cfg.test_evaluator.type == 'ZSLMultiLabelMetric'
    if not osp.isdir(SHARED_COCO):
        pytest.skip('reference COCO split files absent')
    from granzsl_mm.utils.safe_pickle import safe_pickle_load
    split = safe_pickle_load(osp.join(SHARED_COCO, 'cls_ids.pickle'))
    with open(osp.join(SHARED_COCO, 'categories.json')) as f:
        cats = [c['name'] for c in sorted(json.load(f), key=lambda c: c['id'])]
    assert names[:48] == [cats[i] for i in sorted(split['train'])]
    assert names[48:] == [cats[i] for i in sorted(split['test'])]


@pytest.mark.parametrize('name', ['clip_zeroshot_coco.py',
                                  'clip_zeroshot_nuswide.py',
                                  'clip_zeroshot_openimages.py',
                                  'clip_zeroshot_demo.py'])
def test_tiny_builds_score_all_classes(name, tmp_path):
    register_all_modules()
    cfg = tiny_override(_load(name))
    split = tmp_path / 'split.json'
    split.write_text(json.dumps(dict(seen=['a', 'b', 'c'], unseen=['d'])))
    if cfg.model.class_names not in CLASS_LISTS:
        cfg.model.class_names = str(split)  # the others read split files
    model = MODELS.build(cfg.model).eval()
    num = len(model.class_names)
    x = [torch.randint(0, 256, (3, 32, 32), dtype=torch.uint8)
         for _ in range(2)]
    samples = model.test_step(dict(inputs=x))
    assert samples[0].pred_score.shape == (num, )
    assert samples[0].pred_score_zsl.shape == (num - model.num_seen_classes, )


@pytest.mark.slow
def test_demo_config_evaluates_zsl_and_gzsl_in_one_pass(tmp_path,
                                                         small_demo_world):
    """One test pass gives the ZSL and GZSL numbers of the functional
    metric on the predictions it made (ZSL on the unseen-only scores)."""
    from granzsl_mm.engine import build_runner
    register_all_modules()
    cfg = tiny_override(_load('clip_zeroshot_demo.py'),
                        work_dir=str(tmp_path))
    cfg.model.class_names = osp.join(small_demo_world, 'split.json')
    cfg.test_dataloader.dataset.data_root = small_demo_world
    cfg.test_dataloader.dataset.indices = 8
    evaluator = cfg.test_evaluator
    dump = str(tmp_path / 'preds.pth')
    cfg.test_evaluator = add_prediction_dump(evaluator, dump)
    runner = build_runner(cfg)
    metrics = runner.test()
    num_seen = len(runner.test_dataloader.dataset.metainfo['seen_classes'])
    expected = zsl_metrics_from_dump(dump, evaluator, num_seen)
    assert_same_metrics(metrics, expected,
                        keys=('zsl/mAP', 'gzsl/mAP', 'zsl/F1@3', 'gzsl/F1@5'))


def test_openimages_config_matches_the_papers_protocol():
    cfg = _load('clip_zeroshot_openimages.py')
    assert cfg.model.type == 'ZeroShotMultiLabelClassifier'
    assert cfg.model.class_names.endswith('/split_7186_400.json')
    assert cfg.model.num_seen_classes is None  # from the split file
    ev = cfg.test_evaluator
    assert (ev.type, tuple(ev.topk), tuple(ev.label_sets)) == (
        'OpenImagesZSLMetric', (10, 20), ('zsl', 'gzsl'))
    # BiAM's pooled AP first (the published numbers), per-class beside it
    assert tuple(ev.ap) == ('biam_pooled', 'per_class')
    ds = cfg.test_dataloader.dataset
    assert (ds.type, ds.split, ds.label_set) == ('OpenImagesZSLDataset',
                                                 'test', 'all')
    assert ds.data_root + '/split_7186_400.json' == cfg.model.class_names
    assert cfg.test_dataloader.sampler == dict(type='DefaultSampler',
                                               shuffle=False)


def _tiny_openimages(tmp_path):
    """A converted tiny Open Images root with its test images, and the paper
    config shrunk onto it (one prompt template: 34 classes, fast)."""
    from tests.fixtures.openimages_files import (
        write_converted_openimages_root,
    )
    root = write_converted_openimages_root(str(tmp_path / 'openimages'),
                                           splits=('test', ))
    cfg = tiny_override(_load('clip_zeroshot_openimages.py'), data_root=root,
                        work_dir=str(tmp_path / 'work'))
    cfg.model.class_names = osp.join(root, 'split_7186_400.json')
    cfg.model.templates = 'single'
    return cfg


@pytest.mark.slow
def test_openimages_config_runs_and_matches_the_protocol(tmp_path):
    """The tiny run evaluates with the config's evaluator in the Runner;
    its numbers equal ``openimages_metrics`` on the dumped predictions,
    and the model prompts the class names, not the MIDs."""
    import numpy as np

    from granzsl_mm.engine import build_runner
    from granzsl_mm.evaluation.prediction_dump import load_predictions
    register_all_modules()
    cfg = _tiny_openimages(tmp_path)
    dump = str(tmp_path / 'preds.pth')
    cfg.test_evaluator = [cfg.test_evaluator,
                          dict(type='SafeDumpResults', out_file_path=dump)]
    runner = build_runner(cfg)
    metrics = runner.test()
    meta = runner.test_dataloader.dataset.metainfo
    assert (len(meta['seen_classes']), len(meta['unseen_classes'])) == (30, 4)
    assert list(runner.model.class_names) == list(meta['classes'])
    assert runner.model.class_names[30] == 'Bun (/m/u07)'
    preds = sorted(load_predictions(dump), key=lambda p: int(p['sample_idx']))
    assert len(preds) == 2  # a, c; b has no positive (dropped), d, e none
    fields = ('pred_score', 'pred_score_zsl', 'gt_score')
    scores, zsl, targets = (np.stack([np.asarray(p[k], dtype=np.float32)
                                      for p in preds]) for k in fields)
    assert scores.shape == targets.shape == (2, 34) and zsl.shape == (2, 4)
    assert_openimages_metrics(metrics, scores, zsl, targets, num_seen=30)
