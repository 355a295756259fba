"""SPML configs: the recipe values, and a tiny train + test run of each
through tools/train.py / tools/test.py (tools/generate_pseudo_labels.py first
for the CLIP configs) on generated VOC / COCO-format data; the SigRL configs
run the SigRL model in SPML mode. The tools run in this process
(``runpy``): a fresh interpreter costs ~5-15 s of imports each."""
import json
import os.path as osp
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest
from mmengine.config import Config

from tests.fixtures.run_tools import run_tool
from tests.fixtures.spml_data import make_tiny_coco, make_tiny_voc
from tests.fixtures.tiny_override import tiny_model_cfg, tiny_override

from .recomputed import (
    add_prediction_dump,
    assert_same_metrics,
    record_calls,
    run_scalars,
    spml_losses,
    window_means,
    zsl_metrics_from_dump,
)

ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))
CONFIGS = {
    'spml_coco_sigrl_clip.py': ('coco', 80, 0.1),
    'spml_voc_sigrl_clip.py': ('voc', 20, 0.2),
    'spml_coco_clip_linear.py': ('coco', 80, 0.1),
    'spml_voc_clip_linear.py': ('voc', 20, 0.2),
    'spml_coco_resnet50.py': ('coco', 80, 0.1),
    'spml_voc_resnet50.py': ('voc', 20, 0.2),
}


def _load(name: str) -> Config:
    return Config.fromfile(osp.join(ROOT, 'configs', name))


@pytest.mark.parametrize('name', sorted(CONFIGS))
def test_recipe(name):
    dataset, num_classes, alpha = CONFIGS[name]
    cfg = _load(name)
    assert cfg.default_scope == 'granzsl_mm'
    train = cfg.train_dataloader.dataset
    val = cfg.val_dataloader.dataset
    test = cfg.test_dataloader.dataset
    assert (train.type, train.split, val.split, test.split) == (
        'SPMLDataset', 'train', 'val', 'test')
    for ds in (train, val):
        assert (ds.val_fraction, ds.split_seed, ds.label_seed,
                ds.num_positives) == (0.2, 1200, 1200, 1)
    assert val.val_labels == 'full'
    # train/val come from the official train split, test from official val
    assert train.dataset == val.dataset != test.dataset
    if dataset == 'voc':
        assert (train.dataset.split, test.dataset.split) == ('train', 'val')
    else:
        assert 'train2014' in train.dataset.ann_file
        assert 'val2014' in test.dataset.ann_file
    model = cfg.model
    if model.type == 'SigRL':  # SigRL in SPML mode: every class seen
        assert model.num_classes == model.num_seen_classes == num_classes
        loss = model.spml_loss
    else:
        assert model.head.num_classes == num_classes
        loss = model.head.loss
    assert loss.type == 'SPMLLoss' and loss.alpha == alpha
    assert cfg.val_evaluator.type == 'ZSLMultiLabelMetric'
    assert tuple(cfg.val_evaluator.label_sets) == ('multilabel', )
    assert cfg.default_hooks.checkpoint.save_best == 'mAP'
    assert cfg.train_cfg.max_epochs == 10
    assert cfg.optim_wrapper.optimizer.type == 'Adam'
    if 'resnet50' in name:
        # Cole et al.'s baseline: a stock MMPretrain model and head
        assert model.backbone.type == 'ResNet'
        assert model.backbone.depth == 50
        assert model.head.type == 'MultiLabelLinearClsHead'
        assert loss.mode == 'an'
    else:
        assert model.backbone.type == 'OpenCLIPBackbone'
        assert (model.backbone.arch, model.backbone.pretrained) == (
            'ViT-B-16', 'openai')
        assert model.backbone.frozen is False  # the image tower trains
        assert (loss.mode, loss.beta) == ('em_pl', 0.7)
        if model.type == 'SigRL':
            _check_sigrl_spml_model(model, dataset)
        else:
            assert model.type == 'ImageClassifier'
            assert model.head.type == 'SPMLLinearClsHead'
        pl = cfg.pseudo_label_cfg
        assert (pl.temperature, pl.threshold, pl.rho) == (0.01, 0.3, 0.0)
        assert train.pseudo_label_file == pl.out_file
        packs = [t for t in train.pipeline if t.type == 'PackInputs']
        assert 'soft_targets' in packs[0].algorithm_keys


def _check_sigrl_spml_model(model, dataset):
    """SigRL's SPML setting: GMC as in the zero-shot configs, no ranking or
    distillation loss, sigmoid of the unscaled scores (the reference), the
    class names in the dataset's label order."""
    from granzsl_mm.datasets.spml.voc import VOC_CLASSES
    from granzsl_mm.datasets.zsl.coco_instances import COCO80_CLASSES
    from granzsl_mm.structures import read_class_names
    gmc = model.head.gmc
    assert (gmc.type, gmc.in_features, gmc.hidden_features, gmc.out_features,
            gmc.num_heads, gmc.dropout) == ('GATv2', 512, 128, 512, 4, 0.3)
    assert model.backbone.dense_mode == 'plain' and model.topk == 16
    assert model.rank_loss is None and model.distill_loss is None
    assert (model.score_scale, model.learnable_score_scale) == (1.0, False)
    assert model.template == '{}'
    assert model.class_names == ('voc20' if dataset == 'voc' else 'coco80')
    names = read_class_names(model.class_names).names
    if dataset == 'voc':  # spelt out for CLIP, same order
        assert [n.replace(' ', '') for n in names] == list(VOC_CLASSES)
    else:
        assert names == list(COCO80_CLASSES)


@pytest.fixture(scope='module')
def tiny_data():
    # Short paths on purpose: mmengine formats every logged / dumped config
    # with yapf, whose line-splitting search gets very slow on long paths.
    root = tempfile.mkdtemp(prefix='spml')
    make_tiny_voc(osp.join(root, 'voc'), num_train=20, num_val=8)
    make_tiny_coco(osp.join(root, 'coco'), num_train=20, num_val=8)
    yield dict(root=root, voc=osp.join(root, 'voc', 'VOCdevkit', 'VOC2012'),
               coco=osp.join(root, 'coco'))
    shutil.rmtree(root, ignore_errors=True)



def _tiny_config(name, data_root, tmp_path) -> str:
    cfg = _load(name)
    is_clip = 'clip' in name
    pl_file = str(tmp_path / 'pseudo_labels.npz')
    extra = {}
    width = tiny_model_cfg()['embed_dim']
    if cfg.model.type == 'SigRL':
        extra.update({'model.head.dim': width,
                      'model.head.gmc.in_features': width,
                      'model.head.gmc.hidden_features': 16,
                      'model.head.gmc.out_features': width})
    elif is_clip:
        extra['model.head.in_channels'] = width
    else:  # a small ResNet, no ImageNet download
        extra.update({'model.backbone.depth': 18,
                      'model.backbone.init_cfg': None,
                      'model.head.in_channels': 512})
    tiny_override(cfg, data_root=data_root, work_dir=str(tmp_path / 'work'),
                  paths=dict(pseudo_label_file=pl_file), batch_size=4,
                  num_samples=8, max_epochs=1, extra=extra)
    if is_clip:
        pl = cfg.pseudo_label_cfg
        pl.out_file = pl_file
        pl.clip.update(arch='TinyCLIP-test', model_cfg=tiny_model_cfg(),
                       pretrained='random')
        pl.pipeline[1]['scale'] = (32, 32)
        if 'size' in pl.data_preprocessor:  # VLPL's resize of the tensor
            pl.data_preprocessor['size'] = (32, 32)
        pl.batch_size = 8
        pl.num_workers = 0
    for split in ('val', 'test'):  # dump what each evaluation scored
        key = f'{split}_evaluator'
        cfg[key] = add_prediction_dump(cfg[key],
                                       str(tmp_path / f'{split}_preds.pth'))
    path = str(tmp_path / name)
    cfg.dump(path)
    return path


@pytest.mark.slow
@pytest.mark.parametrize('name', sorted(CONFIGS))
def test_config_trains_and_tests_tiny(name, tiny_data, monkeypatch):
    """Pseudo-labels (CLIP configs), train, test through the tools. The
    logged training losses are the functional SPML loss, with the config's
    mode / alpha / beta, of the logits and labels the loss received; the
    validation and test metrics are the functional metric's on the
    predictions each evaluation dumped."""
    from granzsl_mm.models.losses import SPMLLoss
    dataset, num_classes, _ = CONFIGS[name]
    tmp_path = Path(tiny_data['root']) / name.split('_', 1)[1][:-3]
    tmp_path.mkdir()
    cfg_path = _tiny_config(name, tiny_data[dataset], tmp_path)
    cfg = Config.fromfile(cfg_path)
    if 'clip' in name:
        run_tool('tools/generate_pseudo_labels.py', [cfg_path])
        with np.load(str(tmp_path / 'pseudo_labels.npz')) as data:
            # every training image of the 80 / 20 split has an entry
            assert data['soft_targets'].shape == (16, num_classes)
            assert np.allclose(data['similarity'].sum(1), 1, atol=1e-5)
    work = str(tmp_path / 'work')
    calls = record_calls(monkeypatch, SPMLLoss)
    run_tool('tools/train.py', [cfg_path, '--work-dir', work])
    records = run_scalars(work)
    losses = [r['loss'] for r in records if 'loss' in r]
    loss_cfg = cfg.model.spml_loss if cfg.model.type == 'SigRL' \
        else cfg.model.head.loss
    assert len(calls) == len(losses) == 2  # one loss call per iteration
    assert losses == pytest.approx(
        window_means(spml_losses(calls, loss_cfg)), rel=1e-5)
    if 'sigrl' in name:  # the SigRL model trained with its SPML loss only
        assert all(r['loss_spml'] == r['loss'] for r in records
                   if 'loss' in r)
    keys = ('mAP', 'img_P@1', 'img_P@3')
    (val, ) = [r for r in records if 'mAP' in r]  # one validation
    assert_same_metrics(val, zsl_metrics_from_dump(
        str(tmp_path / 'val_preds.pth'), cfg.val_evaluator[0]), keys)
    ckpt = osp.join(work, 'epoch_1.pth')
    assert osp.isfile(ckpt)
    out = str(tmp_path / 'metrics.json')
    run_tool('tools/test.py', [cfg_path, ckpt, '--work-dir', work, '--out',
                               out, '--out-item', 'metrics'])
    with open(out) as f:
        metrics = json.load(f)
    assert_same_metrics(metrics, zsl_metrics_from_dump(
        str(tmp_path / 'test_preds.pth'), cfg.test_evaluator[0]), keys)
