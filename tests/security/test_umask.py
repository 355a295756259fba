"""Issue 15 case 15: every atomic writer gives its file the mode a plain
``open`` would (``0o666 & ~umask``), not ``mkstemp``'s 0600."""
import os
import stat

import pytest
import torch


@pytest.fixture(params=[0o022, 0o077, 0o002])
def umask(request):
    old = os.umask(request.param)
    try:
        yield request.param
    finally:
        os.umask(old)


def _mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def _writers(tmp):
    from granzsl_mm.models.text.vocabulary_file import save_vocabulary_file

    from granzsl_mm.datasets.descriptions.io import (
        atomic_write_json,
        save_descriptions,
    )
    from granzsl_mm.engine.atomic_backend import AtomicLocalBackend
    from granzsl_mm.evaluation.prediction_dump import save_predictions
    from granzsl_mm.models.pretrain.contrastive_clip import (
        save_open_clip_checkpoint,
    )
    from granzsl_mm.utils.atomic_io import (
        atomic_write_bytes,
        atomic_write_text,
    )
    from granzsl_mm.utils.safe_checkpoint import atomic_torch_save
    entry = dict(sentences=['a photo of a cat'])
    rows = [dict(pred_score=torch.zeros(2), gt_score=torch.ones(2))]
    return {
        'bytes': lambda p: atomic_write_bytes(b'x', p),
        'text': lambda p: atomic_write_text('x', p),
        'json': lambda p: atomic_write_json([1], p),
        'descriptions': lambda p: save_descriptions({'cat': entry}, p),
        'checkpoint': lambda p: atomic_torch_save({'a': torch.ones(1)}, p),
        'backend': lambda p: AtomicLocalBackend().put(b'x', p),
        'backend_text': lambda p: AtomicLocalBackend().put_text('x', p),
        'vocabulary': lambda p: save_vocabulary_file(
            p, ['cat', 'dog'], torch.eye(2)),
        'clip_export': lambda p: save_open_clip_checkpoint(
            torch.nn.Linear(2, 2), p),
        'dump_pth': lambda p: save_predictions(rows, p + '.pth'),
        'dump_npz': lambda p: save_predictions(rows, p + '.npz'),
    }


def test_atomic_writers_respect_the_umask(tmp_path, umask):
    expected = 0o666 & ~umask
    with open(tmp_path / 'plain', 'w'):
        pass
    assert _mode(tmp_path / 'plain') == expected
    for name, write in _writers(tmp_path).items():
        path = str(tmp_path / name)
        write(path)
        written = path if os.path.exists(path) else next(
            str(tmp_path / f) for f in os.listdir(tmp_path)
            if f.startswith(name + '.'))
        assert _mode(written) == expected, (name, oct(_mode(written)))
    # and no temporary file is left behind
    assert not [f for f in os.listdir(tmp_path) if 'tmp' in f]


def test_checkpoint_hook_files_respect_the_umask(tmp_path, umask):
    from mmengine.runner import save_checkpoint

    from granzsl_mm.engine.atomic_backend import ATOMIC_BACKEND_ARGS
    path = str(tmp_path / 'epoch_1.pth')
    save_checkpoint({'state_dict': {'w': torch.ones(2)}}, path,
                    backend_args=ATOMIC_BACKEND_ARGS)
    assert _mode(path) == 0o666 & ~umask
