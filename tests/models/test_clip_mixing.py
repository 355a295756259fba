"""Mixing with MMPretrain: our CLIP backbone in ImageClassifier (trains)."""
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner
from mmpretrain.evaluation import AveragePrecision

from granzsl_mm import register_all_modules
from tests.fixtures.tiny_multilabel import make_tiny_multilabel

pytestmark = pytest.mark.slow

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
    # the trained model (left in eval mode by the loop) on the same images
    scores, targets = [], []
    with torch.no_grad():
        for batch in runner.val_dataloader:
            for sample in model.val_step(batch):
                scores.append(sample.pred_score.numpy())
                targets.append(sample.gt_score.numpy())
    expected = AveragePrecision.calculate(np.stack(scores), np.stack(targets))
    assert metrics['multi-label/mAP'] == pytest.approx(expected.item(),
                                                       abs=1e-3)
