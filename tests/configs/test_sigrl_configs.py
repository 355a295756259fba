"""MKT / SigRL configs: the paper recipes, and each config trains and tests a
few iterations through tools/train.py and tools/test.py (tiny CLIP, the
synthetic demo data, or a small COCO-format world written here)."""
import json
import math
import os
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config

from granzsl_mm import register_all_modules
from granzsl_mm.structures import read_class_names
from granzsl_mm.utils import safe_torch_load
from tests.fixtures.run_tools import run_tool
from tests.fixtures.tiny_override import tiny_override

from .recomputed import (
    add_prediction_dump,
    assert_same_metrics,
    zsl_metrics_from_dump,
)

ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))
CONFIGS = ['mkt_coco.py', 'mkt_nuswide.py', 'sigrl_coco.py',
           'sigrl_nuswide.py', 'mkt_stage2_coco.py']


def _load(name):
    return Config.fromfile(osp.join(ROOT, 'configs', name))


@pytest.mark.parametrize('name,model_type,lr,batch,n_cls,n_seen', [
    ('mkt_coco.py', 'MKT', 1e-3, 64, 65, 48),
    ('mkt_nuswide.py', 'MKT', 1e-3, 64, 1006, 925),
    ('sigrl_coco.py', 'SigRL', 1e-4, 32, 65, 48),
    ('sigrl_nuswide.py', 'SigRL', 1e-4, 32, 1006, 925)])
def test_paper_recipe(name, model_type, lr, batch, n_cls, n_seen):
    cfg = _load(name)
    assert cfg.default_scope == 'granzsl_mm'
    m = cfg.model
    assert m.type == model_type
    assert (m.backbone.arch, m.backbone.pretrained) == ('ViT-B-16', 'openai')
    assert m.backbone.dense_mode == 'plain'
    assert m.backbone.trainable_blocks_from == 10
    assert m.template == 'There is a {} in the scene' and m.topk == 16
    assert (m.num_classes, m.num_seen_classes) == (n_cls, n_seen)
    assert m.distill_loss.loss_weight == 1.0
    opt = cfg.optim_wrapper
    assert (opt.optimizer.type, opt.optimizer.lr,
            opt.optimizer.weight_decay) == ('AdamW', lr, 0.05)
    assert opt.constructor == 'LearningRateDecayOptimWrapperConstructor'
    assert opt.paramwise_cfg.layer_decay_rate == 0.65
    assert cfg.train_dataloader.batch_size == batch
    assert cfg.train_cfg.max_epochs == 20
    train_ds = cfg.train_dataloader.dataset
    assert (train_ds.label_set, train_ds.empty_images) == ('seen', 'drop')
    augment = [t for t in train_ds.pipeline if t.type == 'RandAugment'][0]
    assert (augment.policies, augment.magnitude_level,
            augment.magnitude_std) == ('timm_increasing', 9, 0.5)
    assert cfg.test_evaluator.drop_empty_images is False
    if model_type == 'SigRL':
        gmc = m.head.gmc
        assert (gmc.in_features, gmc.hidden_features, gmc.out_features,
                gmc.num_heads, gmc.dropout) == (512, 128, 512, 4, 0.3)


def test_dataset_arguments_exist():
    """Every dataset argument of the configs is one the dataset takes."""
    import inspect

    from mmengine.dataset import BaseDataset

    from granzsl_mm.registry import DATASETS
    register_all_modules()
    base = set(inspect.signature(BaseDataset).parameters)
    for name in CONFIGS:
        cfg = _load(name)
        for loader in ('train_dataloader', 'test_dataloader'):
            ds = cfg[loader].dataset
            params = set(inspect.signature(DATASETS.get(ds.type)).parameters)
            assert set(ds) - {'type'} <= params | base, (name, loader)


def test_nuswide_class_names_follow_the_dataset_order():
    from granzsl_mm.datasets.zsl.nuswide_metadata import read_zsl_classes
    from granzsl_mm.structures import read_class_names
    root = osp.join(ROOT, '..', 'shared', 'data', 'nuswide')
    if not osp.isfile(osp.join(root, 'TagList1k.txt')):
        pytest.skip('../shared/data/nuswide is not available')
    cfg = _load('mkt_nuswide.py')
    spec = {k: osp.join(root, osp.basename(v))
            for k, v in cfg.model.class_names.items()}
    names = read_class_names(spec).names
    _, seen, unseen = read_zsl_classes(root)
    assert names == seen + unseen
    assert (len(names), len(seen)) == (cfg.model.num_classes,
                                       cfg.model.num_seen_classes)


def test_coco_class_names_follow_the_dataset_order():
    from granzsl_mm.datasets.descriptions.dataset import read_class_split
    from granzsl_mm.datasets.zsl.coco_instances import COCO80_CLASSES
    split = osp.join(ROOT, '..', 'shared', 'data', 'coco', 'cls_ids.pickle')
    if not osp.isfile(split):
        pytest.skip('../shared/data/coco/cls_ids.pickle is not available')
    seen, unseen = read_class_split(split, COCO80_CLASSES)
    for name in ('mkt_coco.py', 'sigrl_coco.py', 'mkt_stage2_coco.py'):
        names = read_class_names(_load(name).model.class_names)
        assert (names.seen, names.unseen) == (seen, unseen)


def test_lr_schedule_matches_reference():
    """Per-iteration warm-up then half-cycle cosine to min_lr, per layer
    group scaled by the layer decay (the reference's lr_sched). The warm-up
    is mmengine's LinearLR: from 1e-3 x lr, reaching lr at the last warm-up
    iteration (the reference: from 0, t / W of the way at iteration t)."""
    register_all_modules()
    from granzsl_mm.registry import PARAM_SCHEDULERS
    cfg = _load('mkt_coco.py')
    base, iters = cfg.optim_wrapper.optimizer.lr, 10
    params = [torch.nn.Parameter(torch.zeros(1)) for _ in range(2)]
    scales = [1.0, 0.65 ** 2]
    opt = torch.optim.AdamW([dict(params=[p], lr=base * s)
                             for p, s in zip(params, scales)], lr=base)
    scheds = []
    for s in cfg.param_scheduler:
        s = dict(s, optimizer=opt)
        s.pop('convert_to_iter_based')
        s.update(by_epoch=False, begin=s['begin'] * iters,
                 end=s['end'] * iters)
        scheds.append(PARAM_SCHEDULERS.build(s))
    for step in range(20 * iters):
        epoch = step / iters
        if epoch < 2:
            ref = base * (1e-3 + (1 - 1e-3) * step / (2 * iters - 1))
        else:
            ref = 1e-6 + (base - 1e-6) * 0.5 * (
                1 + math.cos(math.pi * (epoch - 2) / 18))
        for group, scale in zip(opt.param_groups, scales):
            assert group['lr'] == pytest.approx(ref * scale, rel=1e-6,
                                                abs=1e-12), step
        opt.step()
        for s in scheds:
            s.step()


def _write_world(root: str, num_images: int = 12) -> None:
    """A small COCO-format world (instances jsons, split json, images)."""
    from PIL import Image
    seen = ['red circle', 'blue circle', 'red square', 'green square']
    unseen = ['blue square', 'green circle']
    classes = seen + unseen
    rng = np.random.default_rng(0)
    os.makedirs(osp.join(root, 'images'), exist_ok=True)
    os.makedirs(osp.join(root, 'annotations'), exist_ok=True)
    images, anns = [], []
    for i in range(num_images):
        canvas = rng.integers(0, 255, (32, 32, 3), dtype=np.uint8)
        for c in rng.choice(len(classes), size=2, replace=False):
            anns.append(dict(id=len(anns) + 1, image_id=i + 1,
                             category_id=int(c) + 1, bbox=[0, 0, 8, 8],
                             area=64.0, iscrowd=0))
        name = f'{i:04d}.png'
        Image.fromarray(canvas).save(osp.join(root, 'images', name))
        images.append(dict(id=i + 1, file_name=name, width=32, height=32))
    cats = [dict(id=i + 1, name=n) for i, n in enumerate(classes)]
    for split in ('train', 'test'):
        with open(osp.join(root, 'annotations', f'instances_{split}.json'),
                  'w') as f:
            json.dump(dict(images=images, annotations=anns,
                           categories=cats), f)
    with open(osp.join(root, 'split.json'), 'w') as f:
        json.dump(dict(seen=seen, unseen=unseen), f)


@pytest.fixture(scope='module')
def world(tmp_path_factory):
    """A tiny COCO-format world of our own (the same on every machine)."""
    root = str(tmp_path_factory.mktemp('world'))
    _write_world(root)
    return root


def _tiny_cfg(name, world, work_dir):
    register_all_modules()
    cfg = _load(name)
    with open(osp.join(world, 'split.json')) as f:
        split = json.load(f)
    for loader, ann in (('train_dataloader', 'instances_train.json'),
                        ('test_dataloader', 'instances_test.json')):
        ds = cfg[loader].dataset
        if ds.type != 'COCOZSLDataset':  # NUS-WIDE configs: same recipe
            keep = dict(pipeline=ds.pipeline, label_set=ds.label_set,
                        empty_images=ds.get('empty_images', 'keep'))
            cfg[loader].dataset = dict(type='COCOZSLDataset', **keep)
        cfg[loader].dataset.update(
            data_root=world, ann_file=f'annotations/{ann}',
            split_file='split.json', data_prefix=dict(img_path='images'))
    tiny_override(cfg, data_root=world, work_dir=work_dir, num_samples=8,
                  batch_size=4)
    cfg.test_dataloader.dataset.indices = 8
    model = cfg.model
    model.update(num_classes=len(split['seen']) + len(split['unseen']),
                 num_seen_classes=len(split['seen']),
                 class_names=osp.join(world, 'split.json'), topk=4)
    if model.backbone.get('trainable_blocks_from') is not None:
        model.backbone.trainable_blocks_from = 1  # TinyCLIP-test: 2 blocks
    if model.type == 'SigRL':
        model.head.update(dim=32, chunk_size=3)
        model.head.gmc.update(in_features=32, hidden_features=16,
                              out_features=32, chunk_size=4)
    return cfg



def _train_and_test(name, world, tmp_path, load_from=None):
    """tools/train.py then tools/test.py; the metrics test.py reports are
    the functional metric's on the predictions it dumped."""
    work = str(tmp_path / name.replace('.py', ''))
    cfg = _tiny_cfg(name, world, work)
    if load_from:
        cfg.load_from = load_from
    evaluator = cfg.test_evaluator
    dump = str(tmp_path / f'{name}.preds.pth')
    cfg.test_evaluator = add_prediction_dump(evaluator, dump)
    path = str(tmp_path / name)
    cfg.dump(path)
    run_tool('tools/train.py', [path, '--work-dir', work])
    ckpt = osp.join(work, 'epoch_1.pth')
    assert osp.isfile(ckpt)
    out = str(tmp_path / f'{name}.metrics.json')
    run_tool('tools/test.py', [path, ckpt, '--work-dir', work, '--out', out,
                               '--out-item', 'metrics'])
    with open(out) as f:
        metrics = json.load(f)
    expected = zsl_metrics_from_dump(dump, evaluator,
                                     num_seen=cfg.model.num_seen_classes)
    assert_same_metrics(metrics, expected,
                        keys=('zsl/mAP', 'gzsl/mAP', 'zsl/F1@3', 'gzsl/F1@5'))
    return ckpt


@pytest.mark.slow
def test_mkt_stages_train_and_test(world, tmp_path):
    """Stage 1 trains and tests; stage 2 starts from its checkpoint."""
    ckpt = _train_and_test('mkt_coco.py', world, tmp_path)
    saved = safe_torch_load(ckpt, map_location='cpu')  # our safe form
    keys = saved['state_dict'].keys()
    assert not any(k.startswith('teacher.') for k in keys)
    assert any(k.startswith('backbone.clip.visual.') for k in keys)
    _train_and_test('mkt_stage2_coco.py', world, tmp_path, load_from=ckpt)


@pytest.mark.slow
@pytest.mark.parametrize('name', ['mkt_nuswide.py', 'sigrl_coco.py',
                                  'sigrl_nuswide.py'])
def test_config_trains_and_tests(name, world, tmp_path):
    _train_and_test(name, world, tmp_path)


def test_built_sigrl_has_gmc_and_svfr(world, tmp_path):
    """The model the SigRL config builds holds GMC (GATv2) and SVFR, and a
    training step's gradients reach the GATv2 parameters."""
    from mmpretrain.structures import DataSample

    from granzsl_mm.models.heads import SemanticVisualReconstruction
    from granzsl_mm.models.layers import GATv2
    from granzsl_mm.registry import MODELS
    cfg = _tiny_cfg('sigrl_nuswide.py', world, str(tmp_path))
    model = MODELS.build(cfg.model)
    assert isinstance(model.gmc, GATv2)
    assert isinstance(model.svfr, SemanticVisualReconstruction)
    num = model.num_classes
    targets = torch.zeros(2, num)
    targets[0, 0] = targets[1, 1] = 1
    samples = [DataSample().set_gt_score(t) for t in targets]
    model.train()
    losses = model.loss(torch.randn(2, 3, 32, 32), samples)
    sum(losses.values()).backward()
    for name, param in model.gmc.named_parameters():
        assert param.grad is not None and param.grad.abs().sum() > 0, name
