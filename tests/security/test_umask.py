"""Every writer of the package gives its files the mode a plain ``open``
would (``0o666 & ~umask``), not ``mkstemp``'s 0600, and leaves no
temporary file behind."""
import os
import stat
import tempfile

import numpy as np
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


@pytest.fixture
def fsyncs(monkeypatch):
    """Counts the calls of ``os.fsync`` (each writer must sync)."""
    calls = []
    real = os.fsync

    def counted(fd):
        calls.append(fd)
        return real(fd)

    monkeypatch.setattr(os, 'fsync', counted)
    return calls


def _write_through_path(path):
    from granzsl_mm.utils.atomic_io import atomic_path
    with atomic_path(path) as tmp:
        with open(tmp, 'wb') as f:
            f.write(b'x')


def _figure():
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots()
    ax.plot([0, 1])
    return fig


def _writers(tmp):
    from granzsl_mm.apis.label_drawing import draw_labels
    from granzsl_mm.apis.score_calibration import ScoreCalibration
    from granzsl_mm.datasets.descriptions.io import (
        atomic_write_json,
        save_descriptions,
    )
    from granzsl_mm.datasets.spml.pseudo_label_file import save_pseudo_labels
    from granzsl_mm.engine.atomic_backend import AtomicLocalBackend
    from granzsl_mm.evaluation.prediction_dump import save_predictions
    from granzsl_mm.models.pretrain.contrastive_clip import (
        save_open_clip_checkpoint,
    )
    from granzsl_mm.models.text.class_vocabulary import save_vocabulary_file
    from granzsl_mm.utils.atomic_io import (
        atomic_savefig,
        atomic_write_bytes,
        atomic_write_text,
    )
    from granzsl_mm.utils.log_analysis import plot_curves
    from granzsl_mm.utils.safe_checkpoint import atomic_torch_save
    entry = dict(sentences=['a photo of a cat'])
    rows = [dict(pred_score=torch.zeros(2), gt_score=torch.ones(2))]
    result = dict(labels=['cat'], scores=[0.5], sources=['prompt'])
    log = dict(train=[dict(step=1, loss=1.0)], val=[])
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
        'path': _write_through_path,
        'figure': lambda p: atomic_savefig(_figure(), p + '.png'),
        'figure_no_extension': lambda p: atomic_savefig(_figure(), p),
        'calibration': lambda p: ScoreCalibration(
            params={'prompt': (1.0, 0.0)}).save(p),
        'pseudo_labels': lambda p: save_pseudo_labels(
            p, ['a.jpg'], np.zeros((1, 2)), ['cat', 'dog']),
        'label_drawing': lambda p: draw_labels(
            np.zeros((8, 8, 3), np.uint8), result, p + '.png'),
        'log_plot': lambda p: plot_curves([log], ['loss'], p + '.png'),
    }


def test_atomic_writers_respect_the_umask(tmp_path, umask, fsyncs):
    expected = 0o666 & ~umask
    with open(tmp_path / 'plain', 'w'):
        pass
    assert _mode(tmp_path / 'plain') == expected
    for name, write in _writers(tmp_path).items():
        path = str(tmp_path / name)
        synced = len(fsyncs)
        write(path)
        assert len(fsyncs) > synced, f'{name} wrote without fsync'
        written = path if os.path.exists(path) else next(
            str(tmp_path / f) for f in os.listdir(tmp_path)
            if f.startswith(name + '.'))
        assert _mode(written) == expected, (name, oct(_mode(written)))
    # and no temporary file is left behind
    assert not [f for f in os.listdir(tmp_path) if 'tmp' in f]


class _TextDataset:
    """A text-only dataset as GranZSL's training set lists its items."""
    metainfo = dict(classes=['cat', 'dog'])

    def __len__(self):
        return 2

    def get_data_info(self, i):
        return dict(text=f'sentence {i}', gt_label=i)


def _folder_writers(tmp, umask):
    from PIL import Image

    from granzsl_mm.apis.feature_cache import FeatureCache
    from granzsl_mm.datasets.descriptions.generation import _PartialWriter
    from granzsl_mm.evaluation.reports import write_reports
    from granzsl_mm.models.backbones.open_clip_builder import (
        register_model_cfg,
    )
    from granzsl_mm.models.text.text_feature_cache import TextFeatureCache
    from granzsl_mm.utils.browse import browse_dataset
    from granzsl_mm.web_app.inputs import read_images

    def text_cache(d):
        cache = TextFeatureCache(d)
        cache.bind('key')
        cache.add(['a cat'], torch.ones(1, 4))

    def open_clip_cfg(d):
        old = tempfile.tempdir
        tempfile.tempdir = d
        try:  # a config of its own per umask: a known one is not rewritten
            register_model_cfg(dict(embed_dim=umask, vision_cfg={},
                                    text_cfg={}), name='umask')
        finally:
            tempfile.tempdir = old

    def partial_descriptions(d):
        writer = _PartialWriter(os.path.join(d, 'descriptions.jsonl'))
        writer.add('cat', dict(sentences=['a cat']))
        writer.close()

    upload = str(tmp / 'upload.tga')  # converted to PNG by the web app
    Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(upload)
    idx = np.arange(2)
    scores = np.array([[0.9, 0.1], [0.2, 0.8]], np.float32)
    targets = np.array([[1, 0], [0, 1]], np.int8)
    return {
        'reports': lambda d: write_reports(
            d, dict(gzsl=(idx, np.array([100.0, 50.0]))),
            dict(gzsl=(scores, targets, idx)),
            dict(classes=['cat', 'dog'], seen_classes=['cat'])),
        'feature_cache': lambda d: FeatureCache.create(d, 3, 4,
                                                       num_classes=2),
        'text_cache': text_cache,
        'open_clip_cfg': open_clip_cfg,
        'browse_texts': lambda d: browse_dataset(_TextDataset(), d),
        'upload': lambda d: read_images([upload], work_dir=d),
        'partial_descriptions': partial_descriptions,
    }


def test_folder_writers_respect_the_umask(tmp_path, umask, fsyncs):
    """Writers of several files, or of files named for them: every file
    they leave has the plain mode."""
    expected = 0o666 & ~umask
    for name, write in _folder_writers(tmp_path, umask).items():
        folder = tmp_path / name
        folder.mkdir()
        synced = len(fsyncs)
        write(str(folder))
        assert len(fsyncs) > synced, f'{name} wrote without fsync'
        files = [os.path.join(d, f) for d, _, fs in os.walk(folder)
                 for f in fs]
        assert files, name
        for path in files:
            assert _mode(path) == expected, (name, path, oct(_mode(path)))
            assert not os.path.basename(path).startswith('.tmp-'), path


def test_checkpoint_hook_files_respect_the_umask(tmp_path, umask):
    from mmengine.runner import save_checkpoint

    from granzsl_mm.engine.atomic_backend import ATOMIC_BACKEND_ARGS
    path = str(tmp_path / 'epoch_1.pth')
    save_checkpoint({'state_dict': {'w': torch.ones(2)}}, path,
                    backend_args=ATOMIC_BACKEND_ARGS)
    assert _mode(path) == 0o666 & ~umask
