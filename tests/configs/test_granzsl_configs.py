"""GranZSL configs: the paper recipe, ablations, and tiny runs of each."""
import glob
import math
import os.path as osp

import pytest
import torch
from mmengine.config import Config

from granzsl_mm import register_all_modules
from granzsl_mm.registry import PARAM_SCHEDULERS

from .recomputed import record_calls

ROOT = osp.join(osp.dirname(__file__), '..', '..')
CONFIGS = sorted(glob.glob(osp.join(ROOT, 'configs', 'granzsl_*.py')))


def _load(name):
    return Config.fromfile(osp.join(ROOT, 'configs', name))


def test_configs_exist():
    names = {osp.basename(p) for p in CONFIGS}
    for expected in ('granzsl_coco.py', 'granzsl_nuswide.py', 'granzsl_demo.py',
                     'granzsl_coco_no_pair.py', 'granzsl_coco_no_hierarchy.py',
                     'granzsl_coco_no_attributes.py',
                     'granzsl_coco_no_cooccurrence.py',
                     'granzsl_coco_no_snippets.py',
                     'granzsl_coco_global_only.py',
                     'granzsl_coco_local_only.py'):
        assert expected in names


@pytest.mark.parametrize('name,n_tokens,lam,grids,n_cls,n_seen', [
    ('granzsl_coco.py', 4, 0.2, (2, 3), 65, 48),
    ('granzsl_nuswide.py', 3, 1e-4, (2,), 1006, 925),
])
def test_paper_recipe(name, n_tokens, lam, grids, n_cls, n_seen):
    cfg = _load(name)
    assert cfg.default_scope == 'granzsl_mm'
    m = cfg.model
    assert m.type == 'GranZSL'
    assert (m.backbone.arch, m.backbone.pretrained) == ('ViT-B-16', 'openai')
    assert m.backbone.dense_mode == 'clearclip'
    assert m.name_learner.num_tokens == n_tokens
    assert m.name_learner.init_std == 0.02
    assert m.pair_loss.loss_weight == lam
    assert (m.num_classes, m.num_seen_classes) == (n_cls, n_seen)
    assert m.logit_scale == 20.0
    assert tuple(cfg.tta_model.grids) == grids
    assert cfg.tta_pipeline == cfg.test_dataloader.dataset.pipeline
    opt = cfg.optim_wrapper.optimizer
    assert (opt.type, opt.lr, opt.momentum, opt.weight_decay) == (
        'SGD', 1e-4, 0.9, 5e-4)
    loader = cfg.train_dataloader
    assert loader.batch_size == 512 and loader.drop_last
    assert cfg.train_cfg.max_epochs == 30
    assert cfg.randomness.seed == 0
    assert cfg.val_dataloader is None  # final epoch, no test-set selection


def test_lr_schedule_matches_reference():
    """Epoch 0 at 1e-5, then cosine (T_max 30) from 1e-4, stepped per epoch."""
    register_all_modules()
    cfg = _load('granzsl_coco.py')
    param = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([param], lr=cfg.optim_wrapper.optimizer.lr)
    scheds = [PARAM_SCHEDULERS.build(dict(s, optimizer=opt))
              for s in cfg.param_scheduler]
    got = []
    for _ in range(cfg.train_cfg.max_epochs):
        got.append(opt.param_groups[0]['lr'])
        opt.step()
        for s in scheds:
            s.step()
    ref = [1e-5] + [1e-4 * (1 + math.cos(math.pi * (k - 1) / 30)) / 2
                    for k in range(1, 30)]
    for a, b in zip(got, ref):
        assert a == pytest.approx(b, rel=1e-9)


@pytest.mark.parametrize('name', [osp.basename(p) for p in CONFIGS])
def test_config_loads(name):
    cfg = _load(name)
    # the select-on-test recipe validates with snippets (GranZSLSnippetVal)
    expected = ('GranZSLSnippetVal' if name == 'granzsl_coco_select_on_test.py'
                else 'GranZSL')
    assert cfg.model.type == expected
    assert cfg.tta_model.type == 'SnippetTTAModel'
    assert 'tta_pipeline' in cfg


def _class_files(tmp_path, num_seen, num_unseen):
    """A split and a description file for synthetic class names."""
    import json
    names = [f'thing{i}' for i in range(num_seen + num_unseen)]
    split = tmp_path / 'split.json'
    split.write_text(json.dumps({'seen': names[:num_seen],
                                 'unseen': names[num_seen:]}))
    desc = tmp_path / 'descriptions.json'
    desc.write_text(json.dumps({
        'format': 'granzsl_mm.descriptions/v1',
        'classes': {n: {'attributes': [f'has part {i % 7}'],
                        'parents': [f'group {i % 3}']}
                    for i, n in enumerate(names)}}))
    return str(split), str(desc)


@pytest.mark.slow
@pytest.mark.parametrize('name,n_seen,n_unseen', [
    ('granzsl_coco.py', 48, 17), ('granzsl_nuswide.py', 925, 81),
    ('granzsl_coco_no_pair.py', 48, 17)])
def test_paper_config_trains_tiny(name, n_seen, n_unseen, tmp_path,
                                  monkeypatch):
    """The paper configs build and train a few iterations (tiny CLIP); the
    logged losses of each iteration are the functional losses, with the
    config's weights, of the names and sentences the model embedded."""
    from mmengine.runner import Runner

    from granzsl_mm.models.losses import (
        NameAlignmentLoss,
        PairDistinctLoss,
        name_alignment_loss,
        pair_distinct_loss,
    )
    from tests.fixtures.tiny_override import tiny_override
    split, desc = _class_files(tmp_path, n_seen, n_unseen)
    cfg = _load(name)
    tiny_override(cfg, work_dir=str(tmp_path / 'work'), num_samples=8,
                  batch_size=4,
                  paths=dict(description_file=desc, split_file=split,
                             templates=None))
    # Train only: the test split needs the image datasets (other test).
    cfg.test_dataloader = cfg.test_cfg = cfg.test_evaluator = None
    align_calls = record_calls(monkeypatch, NameAlignmentLoss)
    pair_calls = record_calls(monkeypatch, PairDistinctLoss)
    runner = Runner.from_cfg(cfg)
    model = runner.model
    assert model.name_learner.name_vectors.shape[:2] == (
        n_seen + n_unseen, cfg.model.name_learner.num_tokens)
    runner.train()
    assert runner.iter == 2
    hub = runner.message_hub
    logged_align = hub.get_scalar('train/loss_align').data[0]
    assert len(align_calls) == len(logged_align) == 2
    want_align = [cfg.model.alignment_loss.loss_weight * float(
        name_alignment_loss(*c['args'])) for c in align_calls]
    assert list(logged_align) == pytest.approx(want_align, rel=1e-6)
    want_pair = [0.0, 0.0]
    if cfg.model.pair_loss is None:
        assert pair_calls == [] and 'train/loss_pair' not in hub.log_scalars
    else:
        want_pair = [cfg.model.pair_loss.loss_weight * float(
            pair_distinct_loss(*c['args'])) for c in pair_calls]
        assert list(hub.get_scalar('train/loss_pair').data[0]) == \
            pytest.approx(want_pair, rel=1e-6)
    assert list(hub.get_scalar('train/loss').data[0]) == pytest.approx(
        [a + p for a, p in zip(want_align, want_pair)], rel=1e-6)


def test_coco_training_set_matches_model():
    """The COCO config's description set (shipped coco80 + the released
    cls_ids.pickle) has exactly the model's 48 + 17 classes."""
    split = osp.join(ROOT, '..', 'shared', 'data', 'coco', 'cls_ids.pickle')
    if not osp.isfile(split):
        pytest.skip('../shared/data/coco/cls_ids.pickle is not available')
    from granzsl_mm.registry import DATASETS
    register_all_modules()
    cfg = _load('granzsl_coco.py')
    ds_cfg = dict(cfg.train_dataloader.dataset, split_file=split)
    dataset = DATASETS.build(ds_cfg)
    meta = dataset.metainfo
    assert len(meta['classes']) == cfg.model.num_classes == 65
    assert len(meta['seen_classes']) == cfg.model.num_seen_classes == 48
    assert 'cat' in meta['unseen_classes'] and 'person' in meta['seen_classes']
    # descriptions plus the 80 templates for every class
    assert len(dataset) > 65 * 80


@pytest.mark.parametrize('name,dropped', [
    ('granzsl_coco_no_hierarchy.py', ('parents', 'children', 'synonyms')),
    ('granzsl_coco_no_attributes.py', ('attributes', )),
    ('granzsl_coco_no_cooccurrence.py', ('cooccurrence', ))])
def test_description_ablations_drop_fields(name, dropped):
    full = _load('granzsl_coco.py').train_dataloader.dataset.fields
    fields = _load(name).train_dataloader.dataset.fields
    assert set(fields) == set(full) - set(dropped)


def test_score_and_snippet_ablations():
    assert _load('granzsl_coco_global_only.py').model.score_mode == 'global'
    assert _load('granzsl_coco_local_only.py').model.score_mode == 'local'
    assert tuple(_load('granzsl_coco_no_snippets.py').tta_model.grids) == ()
    assert _load('granzsl_coco_no_pair.py').model.pair_loss is None
    sel = _load('granzsl_coco_select_on_test.py')
    assert sel.model.select_on_test
    assert sel.val_evaluator.prefix == 'selected-on-test'
