"""The score files' identity: an earlier run's files are cleared, another
run's are refused, a transpose is read only once this run made it."""
import json

import numpy as np
import pytest

from granzsl_mm.evaluation.functional.npy_files import (
    create_npy,
    write_npy_rows,
)
from granzsl_mm.evaluation.functional.score_file import (
    IDENTITY,
    SCORE_FILES,
    ScoreFolderError,
    begin_score_files,
    check_score_files,
    column_reader,
    create_score_files,
    finish_score_files,
)


def _run(folder, scores, targets) -> str:
    run_id = begin_score_files(str(folder), *scores.shape)
    create_score_files(str(folder), *scores.shape)
    write_npy_rows(str(folder / SCORE_FILES[0]), np.arange(len(scores)),
                   scores)
    write_npy_rows(str(folder / SCORE_FILES[1]), np.arange(len(scores)),
                   targets)
    return run_id


def test_leftovers_are_cleared_and_other_runs_refused(tmp_path):
    rng = np.random.default_rng(0)
    scores = rng.random((5, 3)).astype(np.float32)
    targets = (rng.random((5, 3)) < 0.5).astype(np.int8)
    for name in SCORE_FILES[2:]:  # a killed run's transposes
        create_npy(str(tmp_path / name), (3, 5), np.float32, fill=7)
    run_id = _run(tmp_path, scores, targets)
    assert not (tmp_path / SCORE_FILES[2]).exists()
    read_cols = column_reader(str(tmp_path), run_id)
    with pytest.raises(ScoreFolderError, match='not complete'):
        read_cols(0, 3)
    finish_score_files(str(tmp_path), run_id)
    s, t = read_cols(0, 3)
    np.testing.assert_array_equal(s, scores.T)
    np.testing.assert_array_equal(t, targets.T)
    assert json.loads((tmp_path / IDENTITY).read_text())['transposed']
    # another run began in the folder meanwhile: this run's reader refuses
    _run(tmp_path, scores[::-1].copy(), targets)
    with pytest.raises(ScoreFolderError, match=str(tmp_path)):
        check_score_files(str(tmp_path), run_id)
    with pytest.raises(ScoreFolderError, match='own score_dir'):
        column_reader(str(tmp_path), run_id)(0, 3)
