"""A rank's spill file and the score file assembled from the ranks' rows."""
import numpy as np
import pytest

from granzsl_mm.evaluation.functional.score_file import (
    check_rows_once,
    create_score_files,
    promote_in_order,
    real_rows,
    write_rank_rows,
)
from granzsl_mm.evaluation.functional.spill_file import SpillFile


def _rows(n=10, c=5, seed=0):
    rng = np.random.default_rng(seed)
    scores = rng.random((n, c)).astype(np.float32)
    targets = rng.choice([1, 0, -1], size=(n, c)).astype(np.int8)
    return scores, targets


def _spilled(scores, targets, sparse_limit=1 << 20):
    spill = SpillFile(sparse_limit, always_file=False)
    for a in range(0, len(scores), 3):
        spill.add(scores[a:a + 3], targets[a:a + 3])
    return spill


def test_spill_rebuilds_the_rows_from_their_known_labels(tmp_path):
    scores, targets = _rows()
    spill = _spilled(scores, targets)
    assert spill.folder is None  # nothing on disk while the labels fit
    rows, cols, sc, lb = spill.known_arrays()
    rr, cc = np.nonzero(targets >= 0)
    np.testing.assert_array_equal(rows, rr)
    np.testing.assert_array_equal(cols, cc)
    np.testing.assert_array_equal(sc, scores[rr, cc])
    spill.spill()
    assert spill.known is None
    got_s = np.concatenate([s for _, s, _ in spill.blocks()])
    got_t = np.concatenate([t for _, _, t in spill.blocks()])
    # unknown entries, which no metric reads, come back as 0 / -1
    np.testing.assert_array_equal(got_s, np.where(targets >= 0, scores, 0))
    np.testing.assert_array_equal(got_t, targets)
    assert promote_in_order(spill, str(tmp_path), np.arange(10), 10)
    np.testing.assert_array_equal(np.load(tmp_path / 'targets.npy'), targets)
    spill.remove()


def test_known_labels_past_the_limit_are_dropped():
    scores, targets = _rows()
    spill = _spilled(scores, targets, sparse_limit=int(
        (targets[:3] >= 0).sum()))
    assert spill.spilled and spill.known is None
    got_t = np.concatenate([t for _, _, t in spill.blocks()])
    np.testing.assert_array_equal(got_t, targets)
    spill.remove()


def test_two_ranks_assemble_the_score_file(tmp_path):
    """DefaultSampler deals position ``r + k * world`` to rank ``r`` and
    pads the index list by repeating its start; the padding is dropped."""
    size, world = 5, 2
    scores, targets = _rows(size)
    order = (list(range(size)) * 2)[:6]
    create_score_files(str(tmp_path), size, scores.shape[1])
    written = []
    for rank in range(world):
        idx = np.asarray(order[rank::world])
        real = real_rows(idx.size, rank, world, size)
        assert real.tolist() == ([True] * 3 if rank == 0 else
                                 [True, True, False])
        spill = SpillFile(0, always_file=True)
        spill.add(scores[idx], targets[idx])
        written.append(write_rank_rows(spill, str(tmp_path), idx, real))
        spill.remove()
    check_rows_once(written, size, 'test')
    np.testing.assert_array_equal(np.load(tmp_path / 'scores.npy'), scores)
    np.testing.assert_array_equal(np.load(tmp_path / 'targets.npy'), targets)
    with pytest.raises(ValueError, match=r'rows \[0\] written \[2\]'):
        check_rows_once(written + [np.array([0])], size, 'test')
