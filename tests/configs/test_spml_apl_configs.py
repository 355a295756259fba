"""Zhou et al.'s EM + APL configs (VOC, COCO, NUS-WIDE, CUB) and the NUS-WIDE
/ CUB assume-negative ones: the reference's values, and tiny
tools/train.py + tools/test.py runs on generated official-format data (the
APL hook labels at the end of the warm-up epoch, the store travels with the
checkpoint)."""
import json
import os.path as osp
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest
import torch
from mmengine.config import Config

from tests.fixtures.run_tools import run_tool
from tests.fixtures.spml_data import make_tiny_voc
from tests.fixtures.tiny_override import tiny_override

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
# name -> dataset, classes, alpha, beta, batch, lr, warmup (main.py values)
APL_RECIPES = {
    'spml_voc_apl_resnet50.py': ('voc', 20, 0.2, 0.02, 8, 1e-5, 5),
    'spml_coco_apl_resnet50.py': ('coco', 80, 0.1, 0.9, 16, 1e-5, 5),
    'spml_nuswide_apl_resnet50.py': ('nuswide', 81, 0.1, 0.2, 16, 1e-5,
                                        4),
    'spml_cub_apl_resnet50.py': ('cub', 312, 0.01, 0.4, 8, 1e-4, 3),
}
AN = {'spml_nuswide_resnet50.py': ('nuswide', 81, 0.1),
      'spml_cub_resnet50.py': ('cub', 312, 0.01)}
SOURCES = {'voc': 'VOCMultiLabelDataset', 'coco': 'COCOMultiLabelDataset',
           'nuswide': 'NUSWideMultiLabelDataset', 'cub': 'CUBAttributeDataset'}


def _load(name):
    return Config.fromfile(osp.join(ROOT, 'configs', name))


def _check_protocol(cfg, dataset):
    train, val, test = (cfg[k].dataset for k in (
        'train_dataloader', 'val_dataloader', 'test_dataloader'))
    assert (train.split, val.split, test.split) == ('train', 'val', 'test')
    for ds in (train, val):
        assert (ds.val_fraction, ds.split_seed, ds.label_seed,
                ds.num_positives) == (0.2, 1200, 1200, 1)
    assert train.dataset == val.dataset != test.dataset
    assert train.dataset.type == test.dataset.type == SOURCES[dataset]
    assert cfg.train_cfg.max_epochs == 10
    assert cfg.optim_wrapper.optimizer.type == 'Adam'
    assert cfg.default_hooks.checkpoint.save_best == 'mAP'


@pytest.mark.parametrize('name', sorted(APL_RECIPES))
def test_apl_recipe(name):
    dataset, num_classes, alpha, beta, batch, lr, warmup = APL_RECIPES[name]
    cfg = _load(name)
    _check_protocol(cfg, dataset)
    head = cfg.model.head
    assert (head.type, head.num_classes) == ('SPMLLinearClsHead', num_classes)
    assert (head.loss.type, head.loss.mode, head.loss.alpha,
            head.loss.beta) == ('SPMLLoss', 'apl', alpha, beta)
    assert (cfg.model.backbone.type, cfg.model.backbone.depth) == (
        'ResNet', 50)
    assert cfg.train_dataloader.batch_size == batch
    assert cfg.optim_wrapper.optimizer.lr == lr
    hooks = {h['type']: h for h in cfg.custom_hooks}
    assert {'RNGStateHook', 'SafeFormHook'} <= set(hooks)
    apl = hooks['AsymmetricPseudoLabelHook']
    assert (apl['warmup_epoch'], apl['neg_proportion']) == (warmup, 0.9)
    stop = hooks['EarlyStoppingHook']
    assert (stop['monitor'], stop['patience'], stop['min_delta']) == (
        'mAP', 1, 0.0)
    pack = cfg.train_dataloader.dataset.pipeline[-1]
    assert 'soft_targets' in pack['algorithm_keys']
    assert cfg.train_dataloader.get('drop_last', False) is False
    resize = cfg.train_dataloader.dataset.pipeline[1]
    assert resize['scale'] == (448, 448)


@pytest.mark.parametrize('name', sorted(AN))
def test_an_recipe(name):
    dataset, num_classes, alpha = AN[name]
    cfg = _load(name)
    _check_protocol(cfg, dataset)
    assert cfg.model.head.num_classes == num_classes
    assert (cfg.model.head.loss.mode, cfg.model.head.loss.alpha) == (
        'an', alpha)


@pytest.fixture(scope='module')
def tiny_data():
    root = tempfile.mkdtemp(prefix='apl')
    make_tiny_voc(osp.join(root, 'voc'), num_train=20, num_val=8)
    yield dict(root=root, voc=osp.join(root, 'voc', 'VOCdevkit', 'VOC2012'))
    shutil.rmtree(root, ignore_errors=True)



def _tiny(name, data_root, tmp_path, epochs):
    cfg = _load(name)
    tiny_override(cfg, data_root=data_root, work_dir=str(tmp_path / 'work'),
                  batch_size=4, num_samples=8, max_epochs=epochs,
                  extra={'model.backbone.depth': 18,
                         'model.backbone.init_cfg': None,
                         'model.head.in_channels': 512})
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        for step in cfg[loader].dataset.pipeline:
            if step['type'] == 'Resize':
                step['scale'] = (32, 32)  # 448 px is slow on CPU
    for hook in cfg.custom_hooks:
        if hook['type'] == 'AsymmetricPseudoLabelHook':
            hook['warmup_epoch'] = 1  # label after the first of 2 epochs
        if hook['type'] == 'EarlyStoppingHook':
            hook['patience'] = 10  # keep both epochs
    for split in ('val', 'test'):  # dump what each evaluation scored (the
        key = f'{split}_evaluator'  # last validation's stays)
        cfg[key] = add_prediction_dump(cfg[key],
                                       str(tmp_path / f'{split}_preds.pth'))
    path = str(tmp_path / name)
    cfg.dump(path)
    return path


# one run (each costs ~20-40 s on 2 shared cores); the CUB reader and the
# recipe of the other configs are checked without training
@pytest.mark.slow
@pytest.mark.parametrize('name,epochs', [('spml_voc_apl_resnet50.py', 2)])
def test_config_trains_and_tests_tiny(name, epochs, tiny_data, monkeypatch):
    """Train and test through the tools. The logged losses are the
    functional SPML loss (mode 'apl', the config's alpha / beta) of the
    logits, labels and APL soft labels the loss received; the validation and
    test metrics are the functional metric's on the dumped predictions."""
    from granzsl_mm.models.losses import SPMLLoss
    dataset = (APL_RECIPES.get(name) or AN[name])[0]
    tmp_path = Path(tiny_data['root']) / name[5:-3]
    tmp_path.mkdir()
    cfg_path = _tiny(name, tiny_data[dataset], tmp_path, epochs)
    cfg = Config.fromfile(cfg_path)
    work = str(tmp_path / 'work')
    calls = record_calls(monkeypatch, SPMLLoss)
    run_tool('tools/train.py', [cfg_path, '--work-dir', work])
    records = run_scalars(work)
    losses = [r['loss'] for r in records if 'loss' in r]
    assert len(calls) == len(losses) == 2 * epochs
    assert losses == pytest.approx(
        window_means(spml_losses(calls, cfg.model.head.loss)), rel=1e-5)
    if name in APL_RECIPES:  # the second epoch learns from the APL labels
        soft = [c['kwargs'].get('soft_targets') for c in calls]
        assert all(s is None or bool(s.isnan().all()) for s in soft[:2])
        assert any(s is not None and bool((~s.isnan()).any())
                   for s in soft[2:])
    keys = ('mAP', 'img_P@1', 'img_P@3')
    val = [r for r in records if 'mAP' in r]
    assert len(val) == epochs
    assert_same_metrics(val[-1], zsl_metrics_from_dump(
        str(tmp_path / 'val_preds.pth'), cfg.val_evaluator[0]), keys)
    ckpt = osp.join(work, f'epoch_{epochs}.pth')
    if name in APL_RECIPES:
        # 8 training images, one positive each: U_c unknowns per class;
        # int(0.9 * U_c / (2 - 1)) soft negatives per step (the runner's 2
        # epochs), after epochs 1 and 2
        store = np.load(osp.join(work, 'apl_label_store_rank0.npy'))
        assert store.shape == (8, APL_RECIPES[name][1])
        saved = torch.load(ckpt, weights_only=True)['apl_label_store']
        np.testing.assert_array_equal(saved.numpy(), store)
        labelled = (~np.isnan(store)).sum(0)
        assert labelled.sum() > 0 and (store[~np.isnan(store)] >= 0).all()
    out = str(tmp_path / 'metrics.json')
    run_tool('tools/test.py', [cfg_path, ckpt, '--work-dir', work, '--out',
                               out, '--out-item', 'metrics'])
    with open(out) as f:
        metrics = json.load(f)
    assert_same_metrics(metrics, zsl_metrics_from_dump(
        str(tmp_path / 'test_preds.pth'), cfg.test_evaluator[0]), keys)
