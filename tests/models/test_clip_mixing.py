"""Mixing with MMPretrain: our CLIP backbone in ImageClassifier (trains)."""
import os.path as osp

import torch
from mmengine.config import Config
from mmengine.runner import Runner

from granzsl_mm import register_all_modules
from tests.fixtures.tiny_multilabel import make_tiny_multilabel

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(REPO, 'tests', 'fixtures', 'configs',
                  'clip_vit_multilabel.py')


def test_open_clip_backbone_in_image_classifier_trains(tmp_path):
    register_all_modules()
    root = make_tiny_multilabel(str(tmp_path / 'data'), num_train=16,
                                num_test=4)
    cfg = Config.fromfile(CONFIG)
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[loader].dataset.data_root = root
    cfg.work_dir = str(tmp_path / 'work')
    runner = Runner.from_cfg(cfg)
    model = runner.model
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    runner.train()
    changed = {n for n, p in model.named_parameters()
               if not torch.equal(p.detach(), before[n])}
    assert 'head.fc.weight' in changed
    assert any(n.startswith('backbone.clip.visual.transformer.resblocks.1.')
               for n in changed)
    assert not any('resblocks.0.' in n or 'visual.conv1' in n
                   or n.startswith('backbone.clip.transformer.')
                   for n in changed)
    groups = runner.optim_wrapper.optimizer.param_groups
    assert {round(g['lr_scale'], 6) for g in groups} >= {0.65, 1.0}
    metrics = runner.val_loop.run()
    assert 0.0 <= metrics['multi-label/mAP'] <= 100.0
