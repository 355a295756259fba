"""AtomicCheckpointHook(best_above=...): GranZSL's reference selection,
which starts its bests at 0 and compares strictly (train_text.py of
wangshouwen/RCNn@f257645: ``best_unseen_F1 = 0`` ... ``f1_unseen >
best_unseen_F1``; its F1@3 is NaN when no top-3 label is right, and
``NaN > 0`` is false), so an F1@3 of 0 at every epoch names no best."""
import glob
import logging
import os.path as osp

import pytest
import torch
from mmengine.evaluator import BaseMetric
from mmengine.model import BaseModel
from mmengine.runner import Runner

from granzsl_mm import register_all_modules
from granzsl_mm.registry import HOOKS

KEYS = ['sel/zsl/F1@3', 'sel/gzsl/F1@3']


class _Data(torch.utils.data.Dataset):

    def __len__(self):
        return 4

    def __getitem__(self, i):
        return dict(inputs=torch.full((2, ), float(i)))


class _Net(BaseModel):

    def __init__(self):
        super().__init__()
        self.fc = torch.nn.Linear(2, 1)

    def forward(self, inputs, data_samples=None, mode='tensor'):
        out = self.fc(torch.stack(inputs))
        if mode == 'loss':
            return dict(loss=out.pow(2).mean())
        return [dict(out=o) for o in out]


class _Scripted(BaseMetric):
    """Returns the next scripted scores at each evaluation."""

    def __init__(self, script):
        super().__init__(prefix='sel')
        self.script = list(script)

    def process(self, data_batch, data_samples):
        self.results.append(0)

    def compute_metrics(self, results):
        zsl, gzsl = self.script.pop(0)
        return {'zsl/F1@3': zsl, 'gzsl/F1@3': gzsl}


def _train(work_dir, script, best_above, handler=None):
    loader = dict(dataset=_Data(), batch_size=2, num_workers=0,
                  sampler=dict(type='DefaultSampler', shuffle=False),
                  collate_fn=dict(type='pseudo_collate'))
    metric = _Scripted(script)
    checkpoint = dict(type='AtomicCheckpointHook', interval=1,
                      max_keep_ckpts=1, save_best=KEYS, rule='greater')
    if best_above is not None:
        checkpoint['best_above'] = best_above
    runner = Runner(
        model=_Net(), work_dir=work_dir, default_scope='granzsl_mm',
        train_dataloader=loader, val_dataloader=loader,
        val_evaluator=[metric], val_cfg=dict(),
        train_cfg=dict(by_epoch=True, max_epochs=len(script), val_interval=1),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.0)),
        default_hooks=dict(checkpoint=checkpoint,
                           logger=dict(type='LoggerHook', interval=1)),
        env_cfg=dict(dist_cfg=dict(backend='gloo')))
    if handler is not None:
        runner.logger.addHandler(handler)
    try:
        runner.train()
    finally:
        runner.logger.removeHandler(handler)
    return sorted(osp.basename(p) for p in glob.glob(
        osp.join(work_dir, 'best_*.pth')))


class _Records(logging.Handler):

    def __init__(self):
        super().__init__()
        self.messages = []

    def emit(self, record):
        self.messages.append((record.levelno, record.getMessage()))


@pytest.mark.slow
def test_zero_at_every_epoch_names_no_best(tmp_path):
    register_all_modules()
    records = _Records()
    got = _train(str(tmp_path / 'floor'), [(0.0, 0.0)] * 3, 0.0, records)
    assert got == []
    warnings = [m for lvl, m in records.messages if lvl == logging.WARNING
                and m.startswith('No evaluation had')]
    assert len(warnings) == 2 and all('no best checkpoint was written' in m
                                      for m in warnings)
    assert any(m.startswith('sel/zsl/F1@3 = 0.0 is not above 0.0')
               for _, m in records.messages)
    # mmengine's rule alone names epoch 1 (a score of 0 beats -inf)
    plain = _train(str(tmp_path / 'plain'), [(0.0, 0.0)] * 3, None)
    assert plain == ['best_sel_gzsl_F1@3_epoch_1.pth',
                     'best_sel_zsl_F1@3_epoch_1.pth']


@pytest.mark.slow
def test_first_score_above_zero_wins_as_the_reference(tmp_path):
    """RCNn's rule on each key: start at 0, replace when strictly greater."""
    register_all_modules()
    script = [(0.0, 0.2), (0.3, 0.2), (0.3, 0.1), (0.5, 0.0)]
    got = _train(str(tmp_path / 'floor'), script, 0.0)
    best, expected = {0: 0.0, 1: 0.0}, {}
    for epoch, scores in enumerate(script, 1):
        for k, score in enumerate(scores):
            if score > best[k]:
                best[k], expected[k] = score, epoch
    assert got == [f'best_sel_gzsl_F1@3_epoch_{expected[1]}.pth',
                   f'best_sel_zsl_F1@3_epoch_{expected[0]}.pth']
    assert expected == {0: 4, 1: 1}


def test_best_above_needs_named_greater_keys():
    register_all_modules()
    with pytest.raises(ValueError, match='save_best'):
        HOOKS.build(dict(type='AtomicCheckpointHook', best_above=0.0))
    with pytest.raises(ValueError, match='greater'):
        HOOKS.build(dict(type='AtomicCheckpointHook', best_above=0.0,
                         save_best=KEYS, rule='less'))
    with pytest.raises(ValueError, match='finite'):
        HOOKS.build(dict(type='AtomicCheckpointHook',
                         best_above=float('nan'), save_best=KEYS,
                         rule='greater'))
    hook = HOOKS.build(dict(type='AtomicCheckpointHook', best_above=0.0,
                            save_best=KEYS, rule='greater'))
    assert hook.init_value_map['greater'] == 0.0
    # the class's map (mmengine's) is left alone
    assert HOOKS.get('AtomicCheckpointHook').init_value_map['greater'] == \
        float('-inf')
