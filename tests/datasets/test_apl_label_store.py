"""Zhou et al.'s asymmetric pseudo-labelling step: a hand-computed schedule,
the reference's recorded stores (golden file), the count formula and the
file-backed store read by dataloader workers."""
import json
import os.path as osp
import pickle

import numpy as np
import pytest

from granzsl_mm.datasets.spml.apl_label_store import (
    APLLabelStore,
    apl_candidates,
    apl_counts,
    asymmetric_pseudo_label_step,
    from_zhou_store,
    to_zhou_store,
)

GOLDEN = osp.join(osp.dirname(__file__), '..', 'fixtures', 'golden',
                  'zhou_apl_golden.json')


def _golden():
    with open(GOLDEN) as f:
        return json.load(f)


def _run_schedule(positive, preds_by_epoch, num_epochs, warmup, prop):
    """Our step at the end of each 1-based epoch >= warmup."""
    unknown = ~positive
    soft = np.full(positive.shape, np.nan, np.float32)
    counts = apl_counts(unknown.sum(0), prop, num_epochs, warmup)
    stores = {}
    for epoch in range(1, num_epochs + 1):
        if epoch >= warmup:
            asymmetric_pseudo_label_step(soft, unknown,
                                         preds_by_epoch[epoch], counts)
        stores[epoch] = soft.copy()
    return counts, stores


def test_schedule_hand_computed():
    """5 images x 2 classes, 4 epochs, warmup 2, neg_proportion 1.0:
    U = [3, 4] -> int(1.0 * U / 2) = [1, 2] soft negatives per step, at the
    end of epochs 2, 3 and 4 (none after epoch 1)."""
    positive = np.zeros((5, 2), bool)
    positive[[0, 2], 0] = True
    positive[1, 1] = True
    nan = np.nan
    p = {1: np.full((5, 2), 0.01, np.float32),  # would be chosen: not run
         2: np.array([[.9, .0], [.3, .9], [.9, .5], [.1, .4], [.2, .6]],
                     np.float32),
         3: np.array([[.9, .7], [.25, .9], [.9, .2], [.05, .01], [.35, .3]],
                     np.float32),
         4: np.array([[.9, .15], [.01, .9], [.9, .01], [.01, .01], [.9, .01]],
                     np.float32)}
    counts, stores = _run_schedule(positive, p, 4, 2, 1.0)
    assert counts.tolist() == [1, 2]
    f = np.float32
    # epoch 1: before warm-up, nothing
    assert np.isnan(stores[1]).all()
    # epoch 2: class 0 row 3 (0.1); class 1 rows 0 (0.0) and 3 (0.4)
    e2 = np.array([[nan, 0.0], [nan, nan], [nan, nan], [f(.1), f(.4)],
                   [nan, nan]], np.float32)
    np.testing.assert_array_equal(stores[2], e2)
    # epoch 3: class 0 row 1 (0.25; row 3 is labelled already); class 1:
    # row 0 (soft 0.0 still unlabelled, score 0.7), rows 2 and 4 lowest
    e3 = e2.copy()
    e3[1, 0], e3[2, 1], e3[4, 1] = f(.25), f(.2), f(.3)
    np.testing.assert_array_equal(stores[3], e3)
    # epoch 4: only row 4 left in class 0 (0.9), row 0 in class 1 (0.15):
    # fewer candidates than the count
    e4 = e3.copy()
    e4[4, 0], e4[0, 1] = f(.9), f(.15)
    np.testing.assert_array_equal(stores[4], e4)
    # positives never get a soft label
    assert np.isnan(stores[4][positive]).all()


@pytest.mark.parametrize('case', ['apl_case', 'apl_case_large'])
def test_schedule_equals_reference_store(case):
    """The reference's store after every APL epoch, recorded by running its
    own code: same values, same signs (-0.0 for a score of exactly 0)."""
    g = _golden()[case]
    obs = np.asarray(g['obs_init'])
    positive = obs == 1
    preds = {e['epoch']: np.asarray(e['preds_float32'], np.float32)
             for e in g['epochs']}
    counts, stores = _run_schedule(positive, preds, g['num_epochs'],
                                   g['warmup_epoch'], g['neg_proportion'])
    assert counts.tolist() == g['neg_PL_num_per_class']
    assert (~positive).sum(0).tolist() == g['unlabel_num']
    for e in g['epochs']:
        ours = to_zhou_store(positive, stores[e['epoch']])
        ref = np.asarray(e['store_after'], np.float64)
        # the same entries labelled, with the same values: up to one float32
        # ulp, as the recorded scores are the sigmoid of the whole matrix
        # and theirs of each batch (vectorised sigmoid rounding)
        np.testing.assert_array_equal(ours == 0, ref == 0)
        np.testing.assert_allclose(ours, ref, rtol=1.2e-7, atol=0)
        np.testing.assert_array_equal(np.signbit(ours).astype(int),
                                      e['store_after_signbit'])
        # and back: their store as our targets / soft targets
        targets, soft = from_zhou_store(ref)
        np.testing.assert_array_equal(targets == 1, positive)
        np.testing.assert_array_equal(np.isnan(soft),
                                      np.isnan(stores[e['epoch']]))
        np.testing.assert_allclose(soft, stores[e['epoch']], rtol=1.2e-7)


def test_zero_score_stays_unlabelled_and_is_chosen_again():
    """apl_case: image 5, class 1 scores exactly 0.0 at epoch 3 -> soft
    label 0.0 (their -0.0), still a candidate, relabelled at epoch 5."""
    g = _golden()['apl_case']
    obs = np.asarray(g['obs_init'])
    preds = {e['epoch']: np.asarray(e['preds_float32'], np.float32)
             for e in g['epochs']}
    _, stores = _run_schedule(obs == 1, preds, 5, 3, 0.9)
    assert stores[3][5, 1] == 0 and stores[4][5, 1] == 0
    assert apl_candidates(obs == 0, stores[4])[5, 1]
    assert stores[5][5, 1] == np.float32(preds[5][5, 1]) > 0


def test_counts_formula_and_errors():
    # int() truncation of neg_proportion * U / (epochs - warmup)
    assert apl_counts([4, 5, 3], 0.9, 5, 3).tolist() == [1, 2, 1]
    assert apl_counts([16, 17, 17, 16, 14], 0.9, 10, 5).tolist() == [
        2, 3, 3, 2, 2]
    with pytest.raises(ValueError, match='must exceed'):
        apl_counts([3], 0.9, 5, 5)
    with pytest.raises(ValueError, match='neg_proportion'):
        apl_counts([3], 1.5, 10, 5)
    soft = np.full((2, 2), np.nan, np.float32)
    with pytest.raises(ValueError, match='one shape'):
        asymmetric_pseudo_label_step(soft, np.ones((2, 2), bool),
                                     np.zeros((3, 2)), [1, 1])
    with pytest.raises(ValueError, match='no score'):
        asymmetric_pseudo_label_step(soft, np.ones((2, 2), bool),
                                     np.full((2, 2), np.nan), [1, 1])


def test_store_file_roundtrip_and_pickles_as_path(tmp_path):
    path = str(tmp_path / 'sub' / 'store.npy')
    store = APLLabelStore.create(path, 3, 2)
    assert store.shape == (3, 2) and np.isnan(store.read()).all()
    reader = pickle.loads(pickle.dumps(store))  # a spawned worker's copy
    assert reader.path == path and reader._array is None
    assert np.isnan(reader.row(1)).all()  # opened (memory map) before
    values = np.array([[0.1, np.nan], [np.nan, 0.0], [0.5, 0.2]], np.float32)
    store.write(values)
    # the reader's open map sees the new values (no reopen)
    np.testing.assert_array_equal(reader.row(0), values[0])
    np.testing.assert_array_equal(reader.read(), values)
    with pytest.raises(ValueError, match='differ'):
        store.write(np.zeros((2, 2)))
    with pytest.raises(FileNotFoundError):
        APLLabelStore(str(tmp_path / 'none.npy')).row(0)
