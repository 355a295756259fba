"""AsymmetricPseudoLabelHook with an SPMLDataset: the reference's recorded
schedule (golden apl_case) through the hook, the soft labels the dataset
serves to (persistent, forked) dataloader workers at each epoch, 1-based
warm-up, checkpoint round trip, errors."""
import json
import os.path as osp
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from mmengine.dataset import BaseDataset
from mmengine.logging import MessageHub
from mmpretrain.structures import DataSample

from granzsl_mm.datasets import SPMLDataset
from granzsl_mm.datasets.spml.apl_label_store import to_zhou_store
from granzsl_mm.engine.hooks.asymmetric_pseudo_label_hook import (
    AsymmetricPseudoLabelHook,
)

GOLDEN = osp.join(osp.dirname(__file__), '..', 'fixtures', 'golden',
                  'zhou_apl_golden.json')


class _Full(BaseDataset):
    """Fully labelled toy set (one positive per image: the observed one)."""

    def __init__(self, labels):
        self._labels = labels
        super().__init__(ann_file='', serialize_data=False, metainfo=dict(
            classes=[f'c{i}' for i in range(labels.shape[1])]))

    def load_data_list(self):
        return [dict(img_path=f'img{i}.jpg', gt_score=row.astype(np.float32))
                for i, row in enumerate(self._labels)]


def _pack(info):
    return dict(idx=info['sample_idx'], soft=info['soft_targets'])


class _Model(torch.nn.Module):
    """test_step gives the recorded scores of the current epoch."""

    def __init__(self):
        super().__init__()
        self.table = None

    def test_step(self, batch):
        out = []
        for idx in batch['idx'].tolist():
            sample = DataSample(metainfo=dict(sample_idx=idx))
            out.append(sample.set_pred_score(torch.from_numpy(
                self.table[idx])))
        return out


def _runner(dataset, tmp_path, max_epochs, num_workers=0):
    loader = torch.utils.data.DataLoader(
        dataset, batch_size=2, shuffle=True, num_workers=num_workers,
        persistent_workers=num_workers > 0,
        generator=torch.Generator().manual_seed(0))
    return SimpleNamespace(train_dataloader=loader, model=_Model(),
                           max_epochs=max_epochs, work_dir=str(tmp_path),
                           epoch=0, message_hub=MessageHub.get_instance(
                               'apl_test'))


def _golden_setup(tmp_path, num_workers=0):
    with open(GOLDEN) as f:
        g = json.load(f)['apl_case']
    obs = np.asarray(g['obs_init'])
    # full labels = the observed positive only (all others negative), so
    # the single-positive choice reproduces the reference's store
    dataset = SPMLDataset(dataset=_Full((obs == 1).astype(np.int8)),
                          split='train', val_fraction=0.0, pipeline=[_pack])
    runner = _runner(dataset, tmp_path, g['num_epochs'], num_workers)
    return g, obs, dataset, runner


def test_hook_reproduces_reference_schedule_and_serves_it(tmp_path):
    g, obs, dataset, runner = _golden_setup(tmp_path, num_workers=2)
    hook = AsymmetricPseudoLabelHook(warmup_epoch=g['warmup_epoch'],
                                     neg_proportion=g['neg_proportion'])
    hook.before_train(runner)
    assert hook.counts.tolist() == g['neg_PL_num_per_class']
    preds = {e['epoch']: np.asarray(e['preds_float32'], np.float32)
             for e in g['epochs']}
    after = {e['epoch']: np.asarray(e['store_after']) for e in g['epochs']}
    served_before = {}
    for epoch0 in range(g['num_epochs']):
        runner.epoch = epoch0
        # the training pass of this epoch: what the workers serve
        served = np.full(obs.shape, np.nan, np.float32)
        for batch in runner.train_dataloader:
            served[batch['idx'].numpy()] = batch['soft'].numpy()
        served_before[epoch0 + 1] = served
        runner.model.table = preds.get(epoch0 + 1, np.full(obs.shape, 0.5,
                                                           np.float32))
        hook.after_train_epoch(runner)
        soft = hook.store.read()
        if epoch0 + 1 < g['warmup_epoch']:
            assert np.isnan(soft).all()  # 1-based warm-up: nothing yet
        else:
            ours = to_zhou_store(obs == 1, soft)
            np.testing.assert_array_equal(ours == 0, after[epoch0 + 1] == 0)
            np.testing.assert_allclose(ours, after[epoch0 + 1], rtol=1.2e-7)
            np.testing.assert_array_equal(
                np.signbit(ours).astype(int),
                [r for e in g['epochs'] if e['epoch'] == epoch0 + 1
                 for r in e['store_after_signbit']])
    # epoch e's training saw the store written after epoch e - 1
    for epoch in range(2, g['num_epochs'] + 1):
        expected = (to_zhou_store(obs == 1, np.full(obs.shape, np.nan))
                    if epoch - 1 < g['warmup_epoch'] else after[epoch - 1])
        _, soft = _as_ours(expected)
        np.testing.assert_array_equal(np.isnan(served_before[epoch]),
                                      np.isnan(soft))
        np.testing.assert_allclose(served_before[epoch], soft, rtol=1.2e-7)
    assert runner.message_hub.get_scalar('train/apl_labelled').current() > 0


def _as_ours(store):
    from granzsl_mm.datasets.spml.apl_label_store import from_zhou_store
    return from_zhou_store(store)


def test_checkpoint_round_trip_and_errors(tmp_path):
    g, obs, dataset, runner = _golden_setup(tmp_path)
    hook = AsymmetricPseudoLabelHook(warmup_epoch=1)
    hook.before_train(runner)
    runner.model.table = np.asarray(g['epochs'][0]['preds_float32'],
                                    np.float32)
    hook.after_train_epoch(runner)
    ckpt = {}
    hook.before_save_checkpoint(runner, ckpt)
    saved = ckpt['apl_label_store']
    assert isinstance(saved, torch.Tensor) and (~saved.isnan()).sum() > 0
    resumed = AsymmetricPseudoLabelHook(
        warmup_epoch=1, store_file=str(tmp_path / 'resumed.npy'))
    resumed.after_load_checkpoint(runner, ckpt)
    resumed.before_train(runner)
    np.testing.assert_array_equal(resumed.store.read(), saved.numpy())
    np.testing.assert_array_equal(dataset[0]['soft'], saved.numpy()[0])
    # scoring must cover every training image
    runner.model.test_step = lambda batch: []
    with pytest.raises(RuntimeError, match='not scored'):
        resumed.after_train_epoch(runner)
    with pytest.raises(ValueError, match='warmup_epoch'):
        AsymmetricPseudoLabelHook(warmup_epoch=0)
    runner.train_dataloader = SimpleNamespace(dataset=_Full(obs == 1))
    with pytest.raises(TypeError, match='SPMLDataset'):
        AsymmetricPseudoLabelHook(warmup_epoch=1).before_train(runner)
