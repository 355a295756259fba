"""DualCoOp configs: the reference's recipe, and the demo config trained and
tested through the tools on a small generated world."""
import math
import os.path as osp

import open_clip
import pytest
import torch
from mmengine.config import Config

ROOT = osp.join(osp.dirname(__file__), '..', '..')


def _load(name):
    return Config.fromfile(osp.join(ROOT, 'configs', name))


@pytest.mark.parametrize('name,lr,classes', [
    ('dualcoop_coco.py', 0.002, (65, 48)),
    ('dualcoop_nuswide.py', 0.001, (1006, 925))])
def test_configs_follow_the_reference_recipe(name, lr, classes):
    cfg = _load(name)
    m = cfg.model
    assert m.type == 'DualCoOp'
    assert (m.backbone.arch, m.backbone.pretrained) == ('RN50', 'openai')
    assert (m.num_classes, m.num_seen_classes) == classes
    assert (m.num_context_tokens, m.num_negative_context_tokens) == (64, 64)
    assert (m.class_specific, m.init_std, m.train_classes_per_step) == (
        False, 0.02, 100)
    assert (m.region_scale, m.output_scale) == (20.0, 5.0)
    assert m.loss == dict(type='DualAsymmetricLoss', gamma_neg=2,
                          gamma_pos=1, clip=0.05, eps=1e-6, loss_weight=0.01)
    opt = cfg.optim_wrapper.optimizer
    assert (opt.type, opt.lr, opt.momentum, opt.weight_decay) == (
        'SGD', lr, 0.9, 5e-4)
    assert cfg.train_cfg.max_epochs == 50
    assert cfg.train_dataloader.batch_size == 32
    # warm-up epoch at 1e-5, then Dassl's recounted cosine over 50 epochs
    warm, cosine = cfg.param_scheduler
    assert warm.factor * lr == pytest.approx(1e-5)
    assert (cosine.begin, cosine.end, cosine.T_max) == (1, 50, 50)
    # CLIP's mean / std: open_clip's metadata of the RN50 / RN101 weights
    pre = m.data_preprocessor
    for arch in ('RN50', 'RN101'):
        meta = open_clip.get_pretrained_cfg(arch, 'openai')
        assert pre.mean == pytest.approx([255 * v for v in meta['mean']])
        assert pre.std == pytest.approx([255 * v for v in meta['std']])
    sizes = [t['scale'] for t in cfg.test_dataloader.dataset.pipeline
             if t['type'] == 'Resize']
    assert sizes == [(224, 224)]


def test_schedule_is_the_references_epoch_by_epoch():
    """mmengine's schedulers give Dassl's lr per epoch (constant warm-up,
    recounted cosine): 1e-5, then 0.002 (1 + cos(pi (e - 1) / 50)) / 2."""
    from mmengine.optim import build_optim_wrapper
    from mmengine.registry import PARAM_SCHEDULERS
    cfg = _load('dualcoop_coco.py')
    wrapper = build_optim_wrapper(torch.nn.Linear(1, 1), cfg.optim_wrapper)
    scheds = [PARAM_SCHEDULERS.build(dict(s, optimizer=wrapper))
              for s in cfg.param_scheduler]
    for epoch in range(50):
        want = 1e-5 if epoch == 0 else 0.002 * (
            1 + math.cos(math.pi * (epoch - 1) / 50)) / 2
        got = wrapper.optimizer.param_groups[0]['lr']
        assert got == pytest.approx(want, rel=1e-6, abs=1e-12), epoch
        for s in scheds:
            s.step()


@pytest.mark.slow
def test_demo_trains_and_tests_through_the_tools(tmp_path, small_demo_world,
                                                 capsys):
    from granzsl_mm.models.backbones import OpenCLIPBackbone
    from tests.fixtures.run_tools import run_tool
    torch.manual_seed(0)
    ckpt = str(tmp_path / 'tiny_clip.pt')
    torch.save(OpenCLIPBackbone(arch='TinyCLIP-world',
                                pretrained='random').clip.state_dict(), ckpt)
    cfg = _load('dualcoop_demo.py')
    cfg.model.backbone.pretrained = ckpt
    cfg.model.class_names = osp.join(small_demo_world, 'split.json')
    for loader in (cfg.train_dataloader, cfg.test_dataloader):
        loader.dataset.data_root = small_demo_world
        loader.batch_size = 8
    cfg.train_cfg.max_epochs = 1
    cfg.param_scheduler = [dict(type='ConstantLR', factor=1.0)]
    cfg.default_hooks.checkpoint.interval = 1
    cfg.work_dir = str(tmp_path / 'work')
    path = tmp_path / 'dualcoop_demo_tiny.py'
    cfg.dump(str(path))
    run_tool('tools/train.py', [str(path)])
    run_tool('tools/test.py', [str(path), str(tmp_path / 'work' /
                                              'epoch_1.pth')])
    captured = capsys.readouterr()
    out = captured.out + captured.err
    assert 'zsl/mAP' in out and 'gzsl/mAP' in out
