"""ZSLMultiLabelMetric in an mmengine Runner: save_best and progress bar."""
import glob
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.model import BaseModel
from mmengine.runner import Runner
from mmpretrain.structures import DataSample

from granzsl_mm import register_all_modules
from granzsl_mm.evaluation.functional import multilabel_zsl_metrics

NUM_CLASSES, NUM_SEEN = 6, 4
META = dict(classes=[f'c{i}' for i in range(NUM_CLASSES)],
            seen_classes=[f'c{i}' for i in range(NUM_SEEN)],
            unseen_classes=[f'c{i}' for i in range(NUM_SEEN, NUM_CLASSES)])


class _Toy(torch.utils.data.Dataset):
    metainfo = META

    def __init__(self):
        g = torch.Generator().manual_seed(0)
        self.x = torch.randn(24, 8, generator=g)
        self.y = (torch.rand(24, NUM_CLASSES, generator=g) < 0.4).float()

    def __len__(self):
        return len(self.x)

    def __getitem__(self, i):
        return dict(inputs=self.x[i],
                    data_samples=DataSample().set_gt_score(self.y[i]))


class _Linear(BaseModel):

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.fc = torch.nn.Linear(8, NUM_CLASSES)

    def forward(self, inputs, data_samples=None, mode='tensor'):
        logits = self.fc(torch.stack(inputs))
        if mode == 'loss':
            gt = torch.stack([s.gt_score for s in data_samples])
            return dict(loss=torch.nn.functional.
                        binary_cross_entropy_with_logits(logits, gt))
        for s, score in zip(data_samples, logits):
            s.set_pred_score(score.detach())
        return data_samples


@pytest.mark.slow
def test_save_best_and_progress_bar(tmp_path, capsys):
    register_all_modules()
    loader = dict(dataset=_Toy(), batch_size=5, num_workers=0,
                  sampler=dict(type='DefaultSampler', shuffle=False),
                  collate_fn=dict(type='pseudo_collate'))
    metric = dict(type='ZSLMultiLabelMetric', topk=(3, ),
                  drop_empty_images=True)
    runner = Runner(
        model=_Linear(), work_dir=str(tmp_path), default_scope='granzsl_mm',
        train_dataloader=loader, val_dataloader=loader, test_dataloader=loader,
        train_cfg=dict(by_epoch=True, max_epochs=3, val_interval=1),
        val_cfg=dict(), test_cfg=dict(),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.5)),
        val_evaluator=metric, test_evaluator=metric,
        default_hooks=dict(checkpoint=dict(type='CheckpointHook', interval=1,
                                           save_best='gzsl/mAP', rule='greater'),
                           logger=dict(type='LoggerHook', interval=100)),
        custom_hooks=[dict(type='ProgressBarHook', val=True)],
        env_cfg=dict(dist_cfg=dict(backend='gloo')))
    runner.train()
    best = glob.glob(osp.join(str(tmp_path), 'best_gzsl_mAP_epoch_*.pth'))
    assert len(best) == 1
    best_score = runner.message_hub.get_info('best_score')
    capsys.readouterr()
    metrics = runner.test()
    err = capsys.readouterr().err
    assert 'test' in err and '5/5' in err  # the tqdm bar: 5 test batches
    # the test metric equals the functional core on the final model
    data = _Toy()
    with torch.no_grad():
        scores = runner.model.fc(data.x).numpy()
    ref = multilabel_zsl_metrics(scores, data.y.numpy(), topk=(3, ),
                                 drop_empty_images=True)
    assert metrics['gzsl/mAP'] == pytest.approx(ref['mAP'], abs=1e-4)
    zsl = multilabel_zsl_metrics(scores[:, NUM_SEEN:],
                                 data.y.numpy()[:, NUM_SEEN:], topk=(3, ),
                                 drop_empty_images=True)
    assert metrics['zsl/F1@3'] == pytest.approx(zsl['F1@3'], abs=1e-4)
    assert best_score >= metrics['gzsl/mAP'] - 1e-6 or np.isclose(
        best_score, metrics['gzsl/mAP'])
