"""TaI-DPT configs: the reference's recipe, and the demo config trained on
a small generated world's captions and tested through the tools."""
import os.path as osp
import re

import open_clip
import pytest
import torch
from mmengine.config import Config

ROOT = osp.join(osp.dirname(__file__), '..', '..')


def _load(name):
    return Config.fromfile(osp.join(ROOT, 'configs', name))


@pytest.mark.parametrize('name,lr,classes,image_scale,synonyms', [
    ('taidpt_coco.py', 1e-4, 80, 40.0, 'coco'),
    ('taidpt_voc.py', 1e-4, 20, 40.0, 'voc'),
    ('taidpt_nuswide.py', 1e-3, 81, 4.0, 'nuswide')])
def test_configs_follow_the_reference_recipe(name, lr, classes, image_scale,
                                             synonyms):
    cfg = _load(name)
    m = cfg.model
    assert m._scope_ == 'granzsl_mm' and m.type == 'TaIDPT'
    assert (m.backbone.arch, m.backbone.pretrained) == ('RN50', 'openai')
    assert m.num_classes == classes and m.num_seen_classes is None
    assert (m.num_context_tokens, m.class_specific, m.init_std) == (
        16, False, 0.02)
    assert (m.logit_scale, m.text_spatial_scale, m.image_spatial_scale,
            m.global_weight) == (4.0, 50.0, image_scale, 0.5)
    assert m.image_positional_embedding is False
    assert m.loss == dict(type='HingeRankingLoss', margin=1.0, scale=1.0)
    data = cfg.train_dataloader
    assert data.batch_size == 512 and data.drop_last
    assert data.dataset.type == 'CaptionLabelDataset'
    assert data.dataset.synonyms == synonyms
    assert data.dataset.class_names == m.class_names
    assert (data.dataset.template_copies, data.dataset.templates) == (
        9, 'openai_imagenet_80')
    opt = cfg.optim_wrapper.optimizer
    assert (opt.type, opt.lr, opt.momentum, opt.weight_decay) == (
        'SGD', lr, 0.9, 5e-4)
    assert cfg.train_cfg.max_epochs == 20
    warm, cosine = cfg.param_scheduler
    assert warm.factor * lr == pytest.approx(1e-5)
    assert (cosine.begin, cosine.end, cosine.T_max) == (1, 20, 20)
    pre = m.data_preprocessor
    meta = open_clip.get_pretrained_cfg('RN50', 'openai')
    assert pre.mean == pytest.approx([255 * v for v in meta['mean']])
    assert pre.std == pytest.approx([255 * v for v in meta['std']])
    types = [t['type'] for t in cfg.test_dataloader.dataset.pipeline]
    assert types == ['LoadImageFromFile', 'ResizeEdge', 'CenterCrop',
                     'PackInputs']


def test_demo_config_trains_on_the_world_captions_of_seen_classes():
    cfg = _load('taidpt_demo.py')
    assert (cfg.model.num_classes, cfg.model.num_seen_classes) == (26, 21)
    data = cfg.train_dataloader.dataset
    assert data.ann_file == 'annotations/captions_pretrain.json'
    assert data.split_file == 'split.json' and data.synonyms is None
    assert cfg.test_evaluator.label_sets == ('zsl', 'gzsl')


@pytest.mark.slow
def test_demo_trains_and_tests_through_the_tools(tmp_path, small_demo_world,
                                                 capsys):
    from granzsl_mm.models.backbones import OpenCLIPBackbone
    from tests.fixtures.run_tools import run_tool
    torch.manual_seed(0)
    ckpt = str(tmp_path / 'tiny_clip.pt')
    torch.save(OpenCLIPBackbone(arch='TinyCLIP-world',
                                pretrained='random').clip.state_dict(), ckpt)
    cfg = _load('taidpt_demo.py')
    cfg.model.backbone.pretrained = ckpt
    cfg.model.class_names = osp.join(small_demo_world, 'split.json')
    for loader in (cfg.train_dataloader, cfg.test_dataloader):
        loader.dataset.data_root = small_demo_world
        loader.batch_size = 16
    cfg.train_dataloader.dataset.templates = ()  # 60 captions + 21 prompts
    cfg.train_dataloader.dataset.template_copies = 1
    cfg.train_cfg.max_epochs = 1
    cfg.param_scheduler = [dict(type='ConstantLR', factor=1.0)]
    cfg.default_hooks.checkpoint.interval = 1
    cfg.work_dir = str(tmp_path / 'work')
    path = tmp_path / 'taidpt_demo_tiny.py'
    cfg.dump(str(path))
    run_tool('tools/train.py', [str(path)])
    run_tool('tools/test.py', [str(path), str(tmp_path / 'work' /
                                              'epoch_1.pth')])
    captured = capsys.readouterr()
    out = captured.out + captured.err
    assert 'loss_global' in out and 'loss_local' in out
    for key in ('zsl/mAP', 'gzsl/mAP'):
        match = re.search(key + r': ([0-9.]+)', out)
        assert match and 0 < float(match.group(1)) <= 100
