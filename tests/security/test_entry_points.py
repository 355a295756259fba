"""Every entry point against the bad inputs of each door it uses, in
process: one table, one row per (door x bad input) -> the error a user sees
(type and the words that say what to do) or the correct number.

Label and score matrices: the functional metric, the streaming row pass,
the Open Images protocol, the mmengine metrics, the losses, the prediction
dump reader and ``tools/analysis_tools/eval_scores.py`` (through its
``main(argv)``) all pass through
:mod:`granzsl_mm.utils.label_matrix`. Correct numbers are computed here
independently (scikit-learn's average precision on the float64 scores).
"""
import importlib.util
import os.path as osp
import subprocess
import sys
from typing import Callable, NamedTuple, Sequence

import numpy as np
import pytest
import torch
from sklearn.metrics import average_precision_score

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
EVAL_SCORES = osp.join(REPO, 'tools', 'analysis_tools', 'eval_scores.py')


class Raises(NamedTuple):
    """The error a row expects: its type and words of its message."""
    error: type
    words: Sequence[str]


class Equals(NamedTuple):
    """The number a row expects (within ``rel``)."""
    value: Callable[[], float]
    rel: float = 1e-9


class Row(NamedTuple):
    door: str
    bad_input: str
    run: Callable  # run(tmp_path) -> number
    expect: object  # Raises | Equals


# ---------------------------------------------------------------- data
N, C = 30, 6


def _ours() -> np.ndarray:
    """Labels in our convention with every kind (1, 0, -1) and a positive
    in each class."""
    rng = np.random.default_rng(0)
    lab = (rng.random((N, C)) < 0.3).astype(np.int8)
    lab[rng.random((N, C)) < 0.1] = -1
    lab[np.arange(C), np.arange(C)] = 1
    return lab


def _all_known() -> np.ndarray:
    """Labels without an unknown (what a signed matrix +1 / -1 encodes)."""
    lab = _ours()
    lab[lab < 0] = 0
    return lab


def _signed() -> np.ndarray:
    """The papers' signed convention of :func:`_all_known` (+1 / -1)."""
    return np.where(_all_known() == 1, 1, -1).astype(np.int8)


def _signed_one_zero() -> np.ndarray:
    """Signed labels with a single unknown (0): the earlier refusal (no 0 at
    all) lets it through."""
    lab = _signed()
    lab[3, 2] = 0
    return lab


def _scores() -> np.ndarray:
    return np.random.default_rng(1).random((N, C))


def _fine_scores() -> np.ndarray:
    """float64 scores that differ only beyond float32 precision (float32
    makes them all 0.5: every entry tied)."""
    rng = np.random.default_rng(2)
    return 0.5 + 1e-9 * (0.5 * (_ours() == 1) + 0.7 * rng.random((N, C)))


def _sk_map(scores: np.ndarray, signed_or_ours: np.ndarray,
            signed: bool = False) -> float:
    """mAP in %, per class over the known entries (empty class: AP 0),
    computed by scikit-learn in the precision given."""
    lab = np.asarray(signed_or_ours)
    pos = lab == 1
    known = lab != 0 if signed else lab >= 0
    ap = []
    for j in range(lab.shape[1]):
        m = known[:, j]
        ap.append(average_precision_score(pos[m, j], scores[m, j])
                  if pos[m, j].any() else 0.0)
    return 100.0 * float(np.mean(ap))


# ---------------------------------------------------------------- doors
def _functional(scores, labels, **kw) -> float:
    from granzsl_mm.evaluation.functional import multilabel_zsl_metrics
    return multilabel_zsl_metrics(scores, labels, **kw)['mAP']


def _per_class_ap(scores, labels) -> float:
    from granzsl_mm.evaluation.functional import per_class_ap
    return float(np.nanmean(per_class_ap(scores, labels)))


def _openimages(scores, labels) -> float:
    from granzsl_mm.evaluation.functional import openimages_metrics
    return openimages_metrics(scores, labels, topk=(3, ))['mAP']


def _stream(scores, labels, topk=(3, )) -> float:
    from granzsl_mm.evaluation.functional import stream_zsl_metrics

    def read_rows(a, b):
        return scores[a:b], labels[a:b]

    return stream_zsl_metrics(read_rows, None, len(scores), (0, C),
                              topk=topk, chunk_rows=7)['mAP']


def _meta() -> dict:
    names = [f'c{i}' for i in range(C)]
    return dict(classes=names, seen_classes=names, unseen_classes=[])


def _samples(scores, labels) -> list:
    return [dict(pred_score=torch.from_numpy(np.asarray(s)),
                 gt_score=torch.from_numpy(np.asarray(t)), sample_idx=i)
            for i, (s, t) in enumerate(zip(scores, labels))]


def _metric(scores, labels, topk=(3, )) -> float:
    from granzsl_mm.evaluation.metrics import ZSLMultiLabelMetric
    metric = ZSLMultiLabelMetric(topk=topk, label_sets=('gzsl', ))
    metric.dataset_meta = _meta()
    metric.process(None, _samples(scores, labels))
    return metric.evaluate(len(scores))['gzsl/mAP']


def _streaming_metric(scores, labels, topk=(3, )) -> float:
    from granzsl_mm.evaluation.metrics import StreamingZSLMultiLabelMetric
    metric = StreamingZSLMultiLabelMetric(topk=topk, label_sets=('gzsl', ),
                                          buffer_rows=8)
    metric.dataset_meta = _meta()
    metric.process(None, _samples(scores, labels))
    return metric.evaluate(len(scores))['gzsl/mAP']


def _ranking(scores, labels) -> float:
    from granzsl_mm.models.losses import ranking_loss
    return ranking_loss(torch.as_tensor(scores),
                        torch.as_tensor(labels)).item()


def _spml(probs, labels) -> float:
    from granzsl_mm.models.losses import spml_loss
    return spml_loss(torch.as_tensor(probs), torch.as_tensor(labels),
                     'an').item()


def _npz(tmp_path, name: str = 'dump.npz', **arrays) -> str:
    path = str(tmp_path / name)
    np.savez(path, **arrays)
    return path


def _load(tmp_path, scores, labels, **kw) -> float:
    """load_predictions of a dump we did not write, then the metric."""
    from granzsl_mm.evaluation.prediction_dump import load_predictions
    rows = load_predictions(_npz(tmp_path, pred_score=scores,
                                 gt_score=labels), **kw)
    return _functional(np.stack([r['pred_score'] for r in rows]),
                       np.stack([r['gt_score'] for r in rows]))


def _eval_scores(argv: list) -> float:
    spec = importlib.util.spec_from_file_location('eval_scores', EVAL_SCORES)
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    defaults = ['--num-seen', '0', '--label-sets', 'gzsl', '--topk', '3']
    return tool.main(argv[:1] + defaults + argv[1:])['gzsl/mAP']


def _analyze_npz(tmp_path, scores, labels) -> dict:
    """tools/analysis_tools/analyze_results.py through main(argv)."""
    tool_path = osp.join(REPO, 'tools', 'analysis_tools',
                         'analyze_results.py')
    spec = importlib.util.spec_from_file_location('analyze_results',
                                                  tool_path)
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    names = ','.join(f'c{i}' for i in range(scores.shape[1]))
    (tmp_path / 'names.txt').write_text(names.replace(',', '\n'))
    return tool.main([_npz(tmp_path, pred_score=scores, gt_score=labels),
                      '--classes', str(tmp_path / 'names.txt'),
                      '--out-dir', str(tmp_path / 'analysis')])


def _eval_npz(tmp_path, scores, labels, *flags) -> float:
    return _eval_scores([_npz(tmp_path, pred_score=scores, gt_score=labels),
                         *flags])


def _eval_own_dump(tmp_path, labels, *flags) -> float:
    from granzsl_mm.evaluation.prediction_dump import save_predictions
    path = str(tmp_path / 'ours.pth')
    save_predictions(_samples(_scores(), labels), path)
    return _eval_scores([path, *flags])


def _with_nan(a: np.ndarray, row: int = 2, col: int = 4) -> np.ndarray:
    a = np.array(a, dtype=np.float64)
    a[row, col] = np.nan
    return a


def _int16_257() -> np.ndarray:
    lab = _all_known().astype(np.int16)
    lab[1, 1] = 257  # int8 of 257 is 1: a positive
    return lab


def _uint8_255() -> np.ndarray:
    lab = _all_known().astype(np.uint8)
    lab[1, 1] = 255  # int8 of 255 is -1: an unknown
    return lab


SIGNED_WORDS = ('signed', '+1', 'signed_to_ours')
TOPK_WORDS = ('topk', '>= 1')
ROWS = [
    # the functional metric: our convention only
    Row('multilabel_zsl_metrics', 'signed labels (+1 / -1, no 0)',
        lambda p: _functional(_scores(), _signed()), Raises(ValueError,
                                                            SIGNED_WORDS)),
    Row('multilabel_zsl_metrics', 'topk=(0,)',
        lambda p: _functional(_scores(), _ours(), topk=(0, )),
        Raises(ValueError, TOPK_WORDS)),
    Row('multilabel_zsl_metrics', 'NaN score',
        lambda p: _functional(_with_nan(_scores()), _ours()),
        Raises(ValueError, ('not finite', 'NaN', 'image 2', 'class 4'))),
    Row('multilabel_zsl_metrics', '29 score rows, 30 label rows',
        lambda p: _functional(_scores()[:29], _ours()),
        Raises(ValueError, ('29 score rows', '30 label rows'))),
    Row('per_class_ap', 'signed labels',
        lambda p: _per_class_ap(_scores(), _signed()),
        Raises(ValueError, SIGNED_WORDS)),
    Row('openimages_metrics', 'signed labels',
        lambda p: _openimages(_scores(), _signed()),
        Raises(ValueError, SIGNED_WORDS)),
    # the streaming row pass: the signed check over all chunks
    Row('stream_zsl_metrics', 'signed labels',
        lambda p: _stream(_scores(), _signed()),
        Raises(ValueError, SIGNED_WORDS)),
    Row('stream_zsl_metrics', 'topk=(0,)',
        lambda p: _stream(_scores(), _ours(), topk=(0, )),
        Raises(ValueError, TOPK_WORDS)),
    # the mmengine metrics
    Row('ZSLMultiLabelMetric', 'int16 label 257',
        lambda p: _metric(_scores(), _int16_257()),
        Raises(ValueError, ('values must be in {1, 0, -1}', '257'))),
    Row('ZSLMultiLabelMetric', 'uint8 label 255',
        lambda p: _metric(_scores(), _uint8_255()),
        Raises(ValueError, ('values must be in {1, 0, -1}', '255'))),
    Row('ZSLMultiLabelMetric', 'float64 scores tied in float32',
        lambda p: _metric(_fine_scores(), _ours()),
        Equals(lambda: _sk_map(_fine_scores(), _ours()))),
    Row('ZSLMultiLabelMetric', 'topk=(0,)',
        lambda p: _metric(_scores(), _ours(), topk=(0, )),
        Raises(ValueError, TOPK_WORDS)),
    Row('ZSLMultiLabelMetric', 'NaN pred_score',
        lambda p: _metric(_with_nan(_scores()), _ours()),
        Raises(ValueError, ('not finite', 'pred_score of sample 2',
                            'class 4'))),
    Row('StreamingZSLMultiLabelMetric', 'NaN pred_score',
        lambda p: _streaming_metric(_with_nan(_scores(), row=12), _ours()),
        Raises(ValueError, ('not finite', 'pred_score of sample 12',
                            'class 4'))),
    Row('StreamingZSLMultiLabelMetric', 'float64 scores tied in float32',
        lambda p: _streaming_metric(_fine_scores(), _ours()),
        Raises(ValueError, ('float32', 'tie', 'ZSLMultiLabelMetric'))),
    Row('StreamingZSLMultiLabelMetric', 'topk=(0,)',
        lambda p: _streaming_metric(_scores(), _ours(), topk=(0, )),
        Raises(ValueError, TOPK_WORDS)),
    # the losses: our convention only
    # a batch of positives and unknowns only is legal (no pair): loss 0,
    # never a stop in the middle of a training run
    Row('ranking_loss', 'positives and unknowns only (no negative)',
        lambda p: _ranking(_scores(), _signed()),
        Equals(lambda: 0.0)),
    Row('ranking_loss', 'label 257',
        lambda p: _ranking(_scores(), _int16_257()),
        Raises(ValueError, ('257', ))),
    Row('ranking_loss', 'NaN score',
        lambda p: _ranking(_with_nan(_scores()), _all_known()),
        Raises(ValueError, ('not finite', 'image 2', 'class 4'))),
    Row('spml_loss', 'NaN probability',
        lambda p: _spml(_with_nan(_scores()), _ours()),
        Raises(ValueError, ('not finite', 'image 2', 'class 4'))),
    # the prediction dump reader (Python API)
    Row('load_predictions', '.npz with 29 score rows and 30 label rows',
        lambda p: _load(p, _scores()[:29], _ours()),
        Raises(ValueError, ('dump.npz', '29', '30'))),
    Row('load_predictions', 'foreign dump with -1, no label_convention',
        lambda p: _load(p, _scores(), _signed_one_zero()),
        Raises(ValueError, ('dump.npz', 'label_convention', 'ours',
                            'signed'))),
    Row('load_predictions', "foreign signed dump, label_convention='signed'",
        lambda p: _load(p, _scores(), _signed_one_zero(),
                        label_convention='signed'),
        Equals(lambda: _sk_map(_scores(), _signed_one_zero(), signed=True))),
    # tools/analysis_tools/eval_scores.py through main(argv)
    Row('eval_scores.py', 'foreign signed dump with one 0, no flag',
        lambda p: _eval_npz(p, _scores(), _signed_one_zero()),
        Raises(ValueError, ('dump.npz', '--label-convention'))),
    Row('eval_scores.py', 'foreign signed dump, --label-convention signed',
        lambda p: _eval_npz(p, _scores(), _signed_one_zero(),
                            '--label-convention', 'signed'),
        Equals(lambda: _sk_map(_scores(), _signed_one_zero(), signed=True))),
    Row('eval_scores.py', 'our dump, --label-convention signed',
        lambda p: _eval_own_dump(p, _ours(), '--label-convention', 'signed'),
        Raises(ValueError, ('ours.pth', 'records', "'ours'"))),
    Row('eval_scores.py', '.npz with 29 score rows and 30 label rows',
        lambda p: _eval_npz(p, _scores()[:29], _all_known()),
        Raises(ValueError, ('dump.npz', '29', '30'))),
    Row('eval_scores.py', 'int16 label 257',
        lambda p: _eval_npz(p, _scores(), _int16_257()),
        Raises(ValueError, ('257', ))),
    Row('eval_scores.py', 'float64 scores tied in float32',
        lambda p: _eval_npz(p, _fine_scores(), _all_known()),
        Equals(lambda: _sk_map(_fine_scores(), _all_known()))),
    Row('analyze_results.py', '.npz with 29 score rows and 30 label rows',
        lambda p: _analyze_npz(p, _scores()[:29], _all_known()),
        Raises(ValueError, ('dump.npz', '29', '30'))),
    Row('analyze_results.py', 'foreign dump with -1, no label_convention',
        lambda p: _analyze_npz(p, _scores(), _signed_one_zero()),
        Raises(ValueError, ('dump.npz', 'label_convention'))),
    Row('eval_scores.py', '--topk 0',
        lambda p: _eval_scores([_npz(p, pred_score=_scores(),
                                     gt_score=_all_known()), '--topk', '0']),
        Raises(ValueError, TOPK_WORDS)),
]


@pytest.mark.parametrize('row', ROWS,
                         ids=[f'{r.door} x {r.bad_input}' for r in ROWS])
def test_entry_point(row: Row, tmp_path):
    if isinstance(row.expect, Raises):
        with pytest.raises(row.expect.error) as info:
            row.run(tmp_path)
        text = str(info.value)
        missing = [w for w in row.expect.words if w not in text]
        assert not missing, f'message lacks {missing}: {text}'
    else:
        assert row.run(tmp_path) == pytest.approx(row.expect.value(),
                                                  rel=row.expect.rel)


# ------------------------------------------------ what must keep working
def test_our_dump_is_read_without_asking(tmp_path):
    """Our own dumps record their convention: -1 entries need no flag."""
    assert _eval_own_dump(tmp_path, _ours()) == pytest.approx(
        _sk_map(_scores(), _ours()))


def test_labels_without_unknowns_need_no_convention(tmp_path):
    """A 0 / 1 matrix means the same in both conventions' readers: read as
    ours without a flag."""
    assert _eval_npz(tmp_path, _scores(), _all_known()) == pytest.approx(
        _sk_map(_scores(), _all_known()))


def test_float16_and_float32_scores_are_ranked_as_given():
    scores = _scores().astype(np.float32)
    expected = _sk_map(scores.astype(np.float64), _ours())
    assert _metric(scores, _ours()) == pytest.approx(expected)
    assert _streaming_metric(scores, _ours()) == pytest.approx(expected)
    half = torch.from_numpy(scores).half()
    assert _metric(half.numpy(), _ours()) == pytest.approx(
        _sk_map(half.double().numpy(), _ours()))


def test_ranking_loss_on_our_labels_is_unchanged():
    scores, labels = torch.as_tensor(_scores()), torch.as_tensor(_ours())
    from granzsl_mm.models.losses import ranking_loss
    total = 0.0  # the pairwise loop of BiAM's loss
    for s, t in zip(scores.tolist(), labels.tolist()):
        hinges = [1 + s[n] - s[p] for p in range(C) if t[p] == 1
                  for n in range(C) if t[n] == 0]
        violated = [h for h in hinges if h > 0]
        total += sum(violated) / (len(violated) + 1e-8)
    assert ranking_loss(scores, labels).item() == pytest.approx(total / N)


@pytest.mark.slow
def test_eval_scores_exits_2_with_one_line(tmp_path):
    path = _npz(tmp_path, pred_score=_scores(), gt_score=_signed_one_zero())
    proc = subprocess.run(
        [sys.executable, EVAL_SCORES, path, '--num-seen', '0'], cwd=REPO,
        capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2, proc.stderr[-2000:]
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and '--label-convention' in lines[0], lines


# ------------------------------------------- caches and working folders
# The image-feature cache (apis/feature_cache.py, through
# tools/extract_features.py's main(argv) and the Python API) and the
# streaming metrics' score_dir (evaluation/functional/score_file.py): each
# records what produced it and is checked before reuse; a foreign or stale
# folder is recomputed or refused naming it, never read as this run's.
class ToolExit(Exception):
    """A tool run in process exited non-zero: ``'exit <code>: <stderr>'``."""


def _tool(path: str, argv: list):
    """The tool at ``path`` (under the repository) in this process, as its
    command line runs it: ``main(argv)`` through ``_cli.run`` (user errors
    -> one line, exit status 2, which becomes :class:`ToolExit` carrying
    that line). Returns what ``main`` returned."""
    import _cli  # loaded by tests/conftest.py

    import contextlib
    import io

    from tests.fixtures.run_tools import _drop_closed_log_streams
    _drop_closed_log_streams()
    spec = importlib.util.spec_from_file_location(
        osp.splitext(osp.basename(path))[0], osp.join(REPO, path))
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    out, err, old = {}, io.StringIO(), sys.argv
    sys.argv = [path, *argv]
    try:
        with contextlib.redirect_stderr(err):
            status = _cli.run(lambda: out.setdefault('value', tool.main(argv)))
    finally:
        sys.argv = old
    if status:
        raise ToolExit(f'exit {status}: {err.getvalue().strip()}')
    return out.get('value')


def _other_scores() -> np.ndarray:
    """A second checkpoint's scores for the same images."""
    return np.random.default_rng(7).random((N, C))


def _score_dir_run(folder, scores, labels, keep_files: bool) -> float:
    """The streaming metric with every row through the score files (AP
    from their transposes), in ``folder``."""
    from granzsl_mm.evaluation.metrics import StreamingZSLMultiLabelMetric
    metric = StreamingZSLMultiLabelMetric(
        topk=(3, ), label_sets=('gzsl', ), buffer_rows=8, chunk_cols=4,
        score_dir=str(folder), keep_files=keep_files, sparse_limit=0)
    metric.dataset_meta = _meta()
    metric.process(None, _samples(scores, labels))
    return metric.evaluate(len(scores))['gzsl/mAP']


def _score_dir_twice(tmp_path) -> float:
    """Two checkpoints scored into one kept score_dir: the second's mAP."""
    _score_dir_run(tmp_path / 'scores', _scores(), _ours(), True)
    return _score_dir_run(tmp_path / 'scores', _other_scores(), _ours(),
                          True)


def _after_killed_run(tmp_path) -> float:
    """A run killed (kill -9) between computing and clean-up leaves its
    score files and transposes (what keep_files leaves, a transpose cut
    short); the rerun on other labels must not read them."""
    folder = tmp_path / 'scores'
    _score_dir_run(folder, _scores(), _ours(), True)
    cut = folder / 'scores_T.npy'
    cut.write_bytes(cut.read_bytes()[:-40])
    return _score_dir_run(folder, _scores(), _all_known(), False)


@pytest.fixture(scope='module')
def _tiny_model():
    """A seeded 5-class GranZSL on the random TinyCLIP-test tower."""
    from tests.fixtures.tiny_granzsl import build_tiny_granzsl
    return build_tiny_granzsl(backbone=dict(
        type='OpenCLIPBackbone', arch='TinyCLIP-test', pretrained='random',
        dense_mode='clearclip'))


class _Images(torch.utils.data.Dataset):
    """Packed test items: ``num`` random 32 px images and labels."""

    metainfo = dict(classes=['cat', 'dog', 'car', 'tree', 'boat'],
                    seen_classes=['cat', 'dog', 'car'])

    def __init__(self, seed: int = 0, num: int = 8):
        from mmpretrain.structures import DataSample
        g = torch.Generator().manual_seed(seed)
        self.items = [dict(inputs=torch.randint(
            0, 256, (3, 32, 32), generator=g, dtype=torch.uint8),
            data_samples=DataSample().set_gt_score(
                (torch.rand(5, generator=g) < 0.4).float()))
            for _ in range(num)]

    def __len__(self):
        return len(self.items)

    def __getitem__(self, i):
        return self.items[i]


def _tiny_meta(classes=('cat', 'dog', 'car', 'tree', 'boat')) -> dict:
    return dict(classes=list(classes), seen_classes=list(classes[:3]),
                unseen_classes=list(classes[3:]))


def _cached_map(model, root, meta=None) -> float:
    from granzsl_mm.apis.feature_cache import FeatureCache, evaluate_cached
    with torch.no_grad():
        names = model.class_name_embeddings()
    return evaluate_cached(
        FeatureCache(str(root)), names, meta or _tiny_meta(),
        dict(type='ZSLMultiLabelMetric', topk=(1, ), label_sets=('gzsl', )),
        logit_scale=model.logit_scale, score_mode='global')['gzsl/mAP']


def _planted(model, tmp_path, plant) -> float:
    """A complete cache whose global.npy was then changed by ``plant``."""
    from granzsl_mm.apis.feature_cache import extract_features
    root = tmp_path / 'cache'
    extract_features(model, _Images(), str(root), progress=False)
    feats = np.load(root / 'global.npy')
    np.save(root / 'global.npy', plant(feats))
    return _cached_map(model, root)


def _nan_row(feats):
    feats[3, 5] = np.nan
    return feats


def _zero_row(feats):
    feats[3] = 0
    return feats


def _wider(feats):
    return np.concatenate([feats, feats[:, :1]], axis=1)


def _killed_then_other_dataset(model, tmp_path) -> float:
    """An extraction of dataset A killed after 4 of its 8 images, then
    dataset B (same N, C and weights) into the same folder."""
    from granzsl_mm.apis.feature_cache import FeatureCache, extract_features
    root = str(tmp_path / 'cache')
    extract_features(model, _Images(seed=0), root, progress=False)
    cache = FeatureCache(root, mode='r+')
    cache.done[4:] = 0  # the rows the killed run never flagged
    cache.done.flush()
    extract_features(model, _Images(seed=1), root, progress=False)
    return _cached_map(model, root)


def _demo_cfg(tmp_path, world: str, ann_file: str = None) -> str:
    """The demo config on the small world's 24 test images, random tower."""
    from mmengine.config import Config

    from granzsl_mm import register_all_modules
    from tests.fixtures.tiny_override import tiny_override
    register_all_modules()
    cfg = Config.fromfile(osp.join(REPO, 'configs', 'granzsl_demo.py'))
    extra = {'model.backbone.pretrained': 'random',
             'test_evaluator.drop_empty_images': True,
             'test_evaluator.label_sets': ('gzsl', )}
    if ann_file:
        extra['test_dataloader.dataset.ann_file'] = ann_file
    tiny_override(cfg, work_dir=str(tmp_path / 'work'), data_root=world,
                  extra=extra)
    path = str(tmp_path / f'cfg_{osp.basename(ann_file or "a.json")}.py')
    cfg.dump(path)
    return path


def _dataset_b(tmp_path, world: str) -> str:
    """Dataset B: the world's test annotations with every image's file
    moved one place on (same N and C; other pixels under each label)."""
    import json
    tmp_path.mkdir(parents=True, exist_ok=True)
    with open(osp.join(world, 'annotations', 'instances_test.json')) as f:
        ann = json.load(f)
    names = [im['file_name'] for im in ann['images']]
    for im, name in zip(ann['images'], names[1:] + names[:1]):
        im['file_name'] = name
    path = str(tmp_path / 'instances_b.json')
    with open(path, 'w') as f:
        json.dump(ann, f)
    return path


def _extract(tmp_path, world, out, ann_file=None, *flags) -> dict:
    """extract_features.py on the demo world, scoring a saved checkpoint."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    ckpt = tmp_path / 'names.pth'
    cfg = _demo_cfg(tmp_path, world, ann_file)
    if not ckpt.exists():  # one checkpoint: the same weights every run
        from mmengine.config import Config

        from granzsl_mm.registry import MODELS
        torch.manual_seed(0)
        model = MODELS.build(Config.fromfile(cfg).model)
        torch.save(dict(state_dict=model.state_dict()), str(ckpt))
    return _tool('tools/extract_features.py', [
        cfg, '--out-dir', str(tmp_path / out), '--num-workers', '0',
        '--device', 'cpu', '--checkpoint', str(ckpt), '--cfg-options',
        'model.score_mode=global', *flags])


def _b_into_a(tmp_path, world, *flags) -> float:
    """A's cache first, then B into A's folder: B's gzsl mAP."""
    _extract(tmp_path, world, 'cache_a')
    return _extract(tmp_path, world, 'cache_a', _dataset_b(tmp_path, world),
                    *flags)['gzsl/mAP']


def _b_fresh(tmp_path, world) -> float:
    """B extracted into a folder of its own: B's gzsl mAP."""
    return _extract(tmp_path, world, 'cache_b',
                    _dataset_b(tmp_path, world))['gzsl/mAP']


CACHE_WORDS = ('another folder', 'overwrite')
# run(tmp_path, fixtures): ``fixtures(name)`` gives a fixture's value
CACHE_ROWS = [
    # the streaming metrics' score_dir
    Row('StreamingZSLMultiLabelMetric',
        'score_dir kept from a first checkpoint (keep_files, sparse_limit=0)',
        lambda p, fx: _score_dir_twice(p),
        Equals(lambda: _sk_map(_other_scores(), _ours()))),
    Row('StreamingZSLMultiLabelMetric',
        'leftovers of a run killed between computing and clean-up',
        lambda p, fx: _after_killed_run(p),
        Equals(lambda: _sk_map(_scores(), _all_known()))),
    # the image-feature cache, Python API
    Row('extract_features', "a killed extraction's rows, then another "
        'dataset (same N, C, weights)',
        lambda p, fx: _killed_then_other_dataset(fx('_tiny_model'), p),
        Raises(ValueError, ('cache', 'dataset', *CACHE_WORDS))),
    Row('evaluate_cached', 'a NaN in a cached feature',
        lambda p, fx: _planted(fx('_tiny_model'), p, _nan_row),
        Raises(ValueError, ('global.npy', 'not finite', 'row 3',
                            *CACHE_WORDS))),
    Row('evaluate_cached', 'a zero cached feature',
        lambda p, fx: _planted(fx('_tiny_model'), p, _zero_row),
        Raises(ValueError, ('global.npy', 'zero', 'row 3', *CACHE_WORDS))),
    Row('evaluate_cached', 'global.npy of the wrong width',
        lambda p, fx: _planted(fx('_tiny_model'), p, _wider),
        Raises(ValueError, ('global.npy', '(8, 33)', '(8, 32)',
                            *CACHE_WORDS))),
    Row('evaluate_cached', "another dataset's class list (same C)",
        lambda p, fx: _cached_map(fx('_tiny_model'), _extracted(
            fx('_tiny_model'), p), _tiny_meta(('a', 'b', 'c', 'd', 'e'))),
        Raises(ValueError, ('cache', 'class list'))),
    # tools/extract_features.py through main(argv)
    Row('extract_features.py', "dataset B into A's cache folder (same N, "
        'C, weights)',
        lambda p, fx: _b_into_a(p, fx('small_demo_world')),
        Raises(ToolExit, ('exit 2', 'cache_a', '--overwrite',
                          'another folder'))),
    Row('extract_features.py', "dataset B into A's cache folder, "
        '--overwrite',
        lambda p, fx: _b_into_a(p, fx('small_demo_world'), '--overwrite'),
        Equals(None)),  # B's mAP from a fresh folder, in the test
]


def _extracted(model, tmp_path) -> str:
    from granzsl_mm.apis.feature_cache import extract_features
    root = str(tmp_path / 'cache')
    extract_features(model, _Images(), root, progress=False)
    return root


@pytest.mark.parametrize('row', CACHE_ROWS,
                         ids=[f'{r.door} x {r.bad_input}' for r in CACHE_ROWS])
def test_cache_entry_point(row: Row, tmp_path, request):
    run = row.run
    if isinstance(row.expect, Raises):
        with pytest.raises(row.expect.error) as info:
            run(tmp_path, request.getfixturevalue)
        text = str(info.value)
        missing = [w for w in row.expect.words if w not in text]
        assert not missing, f'message lacks {missing}: {text}'
        assert '\n' not in text  # a tool's user error: one line
        return
    got = run(tmp_path, request.getfixturevalue)
    expected = _b_fresh(tmp_path / 'fresh', request.getfixturevalue(
        'small_demo_world')) if row.expect.value is None else \
        row.expect.value()
    assert got == pytest.approx(expected, rel=row.expect.rel)


def test_a_cache_resumes_and_is_reused_by_its_own_run(_tiny_model,
                                                      tmp_path):
    """The identity check lets the same extraction resume and be scored
    again: a killed run of the same dataset continues on its missing
    rows and scores as a fresh cache."""
    from granzsl_mm.apis.feature_cache import FeatureCache, extract_features
    fresh = _cached_map(_tiny_model, _extracted(_tiny_model,
                                                tmp_path / 'fresh'))
    root = str(tmp_path / 'resumed')
    extract_features(_tiny_model, _Images(), root, progress=False)
    cache = FeatureCache(root, mode='r+')
    cache.done[4:] = 0
    cache.done.flush()
    seen = []
    extract_features(_tiny_model, _Images(), root, progress=False,
                     on_batch=seen.append)
    assert sum(seen) == 4
    assert _cached_map(_tiny_model, root) == pytest.approx(fresh)


# ------------------------------------------------------------ weights door
# A CLIP tower without weights (pretrained None / empty, no CLIP weights
# option) is refused by every entry point, naming the options that take the
# weights; 'random' is the explicit opt-in, and then every output says
# "random CLIP tower" (models/backbones/tower_weights.py); the demo configs'
# tiny CLIP (data/demo/tiny_clip.pt) missing says "run `make demo` first";
# learned names that are not finite never become tags. Tools run in process
# through their command line (tests/fixtures/run_tools.py).
class Exits(NamedTuple):
    """A tool's exit status and words its stderr (or log) must hold."""
    code: int
    words: Sequence[str]


TINY_ZERO_SHOT = osp.join(REPO, 'tests', 'fixtures', 'configs',
                          'clip_zeroshot_tiny.py')
NO_WEIGHTS = ['--cfg-options', 'model.backbone.pretrained=None']
NO_WEIGHTS_WORDS = ('has no weights', '--clip-checkpoint PATH',
                    'model.backbone.pretrained=/path',
                    '--clip-checkpoint random')


def _run(tool: str, argv: list, env) -> tuple:
    from tests.fixtures.run_tools import run_tool_in_process
    code, err = run_tool_in_process(tool, [str(a) for a in argv],
                                    env.capsys)
    return code, err


def _image(tmp_path) -> str:
    from PIL import Image
    tmp_path.mkdir(parents=True, exist_ok=True)
    path = str(tmp_path / 'square.png')
    pixels = np.zeros((32, 32, 3), np.uint8)
    pixels[8:24, 8:24] = (220, 30, 30)
    Image.fromarray(pixels).save(path)
    return path


def _tiny_granzsl_cfg(tmp_path, pretrained: str = "'random'") -> str:
    """The GranZSL demo config on five classes and TinyCLIP-test."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    path = tmp_path / 'tiny_granzsl.py'
    path.write_text(
        f"_base_ = [{osp.join(REPO, 'configs', 'granzsl_demo.py')!r}]\n"
        f"model = dict(backbone=dict(arch='TinyCLIP-test', "
        f"pretrained={pretrained}), num_classes=5, num_seen_classes=3, "
        "class_names=['cat', 'dog', 'car', 'tree', 'boat'])\n")
    return str(path)


def _rcnn_converted(tmp_path) -> str:
    """A GranZSL reference (RCNn) checkpoint of the tiny model's shapes,
    converted by tools/model_converters/granzsl_to_ours.py."""
    from tests.fixtures.run_tools import run_tool
    names = torch.randn(5, 4, 32)  # 5 classes, 4 name tokens, width 32
    src, dst = tmp_path / 'rcnn.pth', tmp_path / 'converted.pth'
    torch.save({'epoch': 3, 'state_dict': {
        'clsn': names, 'token_prefix': torch.randn(1, 5, 32),
        'token_suffix': torch.randn(1, 68, 32)}}, str(src))
    run_tool('tools/model_converters/granzsl_to_ours.py',
             [str(src), str(dst)])  # a non-zero exit raises SystemExit
    assert dst.exists()
    return str(dst)


def _nan_names_checkpoint(tmp_path) -> tuple:
    """Config and checkpoint of a tiny GranZSL whose learned names are NaN
    (the checkpoint of a diverged training)."""
    from granzsl_mm.apis import get_model
    config = _tiny_granzsl_cfg(tmp_path)
    model = get_model(config)
    with torch.no_grad():
        model.name_learner.name_vectors[1] = float('nan')
    path = str(tmp_path / 'nan_names.pth')
    torch.save(dict(state_dict=model.state_dict()), path)
    return config, path


def _logged(work_dir) -> str:
    import glob
    return ''.join(open(f).read() for f in glob.glob(
        osp.join(str(work_dir), '*', '*.log')))


def _test_random(tmp_path, env) -> tuple:
    """tools/test.py, a tower without weights, --clip-checkpoint random:
    exit status and the run's log."""
    cfg = _demo_cfg(tmp_path, env.fixture('small_demo_world'))
    code, err = _run('test.py', [cfg, 'none', '--work-dir',
                                 tmp_path / 'work', '--clip-checkpoint',
                                 'random', *NO_WEIGHTS], env)
    return code, err + _logged(tmp_path / 'work')


def _train_random(tmp_path, env) -> tuple:
    """tools/train.py (4 iterations of a tiny CLIP ViT classifier), a tower
    without weights, --clip-checkpoint random."""
    from tests.fixtures.run_tools import data_opts
    from tests.fixtures.tiny_multilabel import make_tiny_multilabel
    data = make_tiny_multilabel(str(tmp_path / 'data'))
    code, err = _run('train.py', [
        osp.join(REPO, 'tests', 'fixtures', 'configs',
                 'clip_vit_multilabel.py'), '--work-dir', tmp_path / 'work',
        '--clip-checkpoint', 'random', *NO_WEIGHTS, *data_opts(data)], env)
    return code, err + _logged(tmp_path / 'work')


def _infer_random(tmp_path, env) -> tuple:
    import json
    out = tmp_path / 'tags.json'
    code, err = _run('infer.py', [TINY_ZERO_SHOT, _image(tmp_path),
                                  '--clip-checkpoint', 'random', '--out',
                                  out, '--no-progress', *NO_WEIGHTS], env)
    field = json.loads(out.read_text())['clip_weights'] if code == 0 else ''
    return code, f'{err}\nJSON clip_weights: {field}'


def _demo_without_make_demo(tool: str, tmp_path, env) -> tuple:
    """A demo config run where data/demo holds the world but not its tiny
    CLIP (make_demo_data.py run, the pre-training not)."""
    import os
    os.makedirs(tmp_path / 'data')
    os.symlink(env.fixture('small_demo_world'), tmp_path / 'data' / 'demo')
    env.monkeypatch.chdir(tmp_path)
    config = osp.join(REPO, 'configs', 'clip_zeroshot_demo.py')
    argv = {'test.py': [config, 'none', '--work-dir', tmp_path / 'work'],
            'infer.py': [config, _image(tmp_path), '--no-progress'],
            'train.py': [osp.join(REPO, 'configs', 'mkt_demo.py'),
                         '--work-dir', tmp_path / 'work']}[tool]
    return _run(tool, argv, env)


MAKE_DEMO_WORDS = ('data/demo/tiny_clip.pt', 'run `make demo` first')
WEIGHT_ROWS = [
    Row('test.py', 'tower without weights',
        lambda p, env: _run('test.py', [TINY_ZERO_SHOT, 'none',
                                        '--work-dir', p / 'work',
                                        *NO_WEIGHTS], env),
        Exits(2, NO_WEIGHTS_WORDS)),
    Row('train.py', 'tower without weights',
        lambda p, env: _run('train.py', [
            osp.join(REPO, 'tests', 'fixtures', 'configs',
                     'clip_vit_multilabel.py'), '--work-dir', p / 'work',
            *NO_WEIGHTS], env),
        Exits(2, NO_WEIGHTS_WORDS)),
    Row('infer.py', 'tower without weights',
        lambda p, env: _run('infer.py', [TINY_ZERO_SHOT, _image(p),
                                         '--no-progress', *NO_WEIGHTS], env),
        Exits(2, NO_WEIGHTS_WORDS)),
    Row('test.py', 'converted RCNn checkpoint without CLIP weights',
        lambda p, env: _run('test.py', [
            _tiny_granzsl_cfg(p, 'None'), _rcnn_converted(p),
            '--work-dir', p / 'work'], env),
        Exits(2, NO_WEIGHTS_WORDS)),
    Row('test.py', 'tower without weights, --clip-checkpoint random',
        _test_random, Exits(0, ('random CLIP tower', ))),
    Row('train.py', 'tower without weights, --clip-checkpoint random',
        _train_random, Exits(0, ('random CLIP tower', ))),
    Row('infer.py', 'tower without weights, --clip-checkpoint random',
        _infer_random,
        Exits(0, ('random CLIP tower', 'JSON clip_weights: random CLIP '
                  'tower'))),
    Row('test.py', 'demo config without data/demo/tiny_clip.pt',
        lambda p, env: _demo_without_make_demo('test.py', p, env),
        Exits(2, MAKE_DEMO_WORDS)),
    Row('train.py', 'demo config without data/demo/tiny_clip.pt',
        lambda p, env: _demo_without_make_demo('train.py', p, env),
        Exits(2, MAKE_DEMO_WORDS)),
    Row('infer.py', 'demo config without data/demo/tiny_clip.pt',
        lambda p, env: _demo_without_make_demo('infer.py', p, env),
        Exits(2, MAKE_DEMO_WORDS)),
    Row('test.py', 'demo config on a fresh clone (no data/demo at all)',
        lambda p, env: (env.monkeypatch.chdir(p), _run('test.py', [
            osp.join(REPO, 'configs', 'clip_zeroshot_demo.py'), 'none',
            '--work-dir', p / 'work'], env))[1],
        Exits(2, ('data/demo/', 'run `make demo` first'))),
    Row('infer.py', 'checkpoint with NaN learned names',
        lambda p, env: _run('infer.py', [
            (nan := _nan_names_checkpoint(p))[0], _image(p), '--checkpoint',
            nan[1], '--no-progress'], env),
        Exits(2, ('nan_names.pth', 'non-finite', 'name_learner'))),
]


class _Env(NamedTuple):
    capsys: object
    monkeypatch: object
    fixture: Callable


# rows that run a whole test or training (seconds): the slow tier
_RUNS = {'_test_random', '_train_random'}


@pytest.mark.parametrize('row', [
    pytest.param(r, marks=pytest.mark.slow) if r.run.__name__ in _RUNS
    else r for r in WEIGHT_ROWS],
    ids=[f'{r.door} x {r.bad_input}' for r in WEIGHT_ROWS])
def test_weights_entry_point(row: Row, tmp_path, request, capsys,
                             monkeypatch):
    code, text = row.run(tmp_path, _Env(capsys, monkeypatch,
                                        request.getfixturevalue))
    assert code == row.expect.code, text[-3000:]
    missing = [w for w in row.expect.words if w not in text]
    assert not missing, f'output lacks {missing}: {text[-3000:]}'
    if code == 2:  # a user error: one line, no traceback
        assert 'Traceback' not in text, text[-3000:]


def test_inferencer_refuses_non_finite_scores(tmp_path):
    """NaN reaching the scores by another way than a checkpoint (a model
    changed in memory, a CLIP or vocabulary file): the inferencer refuses
    to rank them."""
    from granzsl_mm.apis import get_model
    from granzsl_mm.apis.inferencer import MultiLabelInferencer, NonFiniteScoresError
    model = get_model(_tiny_granzsl_cfg(tmp_path))
    with torch.no_grad():
        model.name_learner.name_vectors[2] = float('inf')
    inferencer = MultiLabelInferencer(model, vocabulary='all')
    with pytest.raises(NonFiniteScoresError) as info:
        inferencer([_image(tmp_path)], progress=False)
    assert "'car'" in str(info.value) and 'NaN or inf' in str(info.value)


# ------------------------------------------------------- web-app HTTP door
# An upload is checked under the name gradio stores it (the last
# ``filename=``), bounded while it arrives; page options are finite and in
# range before a model is built; the allow-list never holds the temporary
# root or gradio's uploads. In-process app and every route:
# tests/web_app/test_upload_door.py.
_WEB_LIMITS = dict(max_file_bytes=1024, max_request_bytes=2048,
                   max_total_bytes=4096, max_other_bytes=1024)


def _upload(disposition: str, data: bytes, copies: int = 1) -> float:
    from granzsl_mm.web_app.uploads import UploadLimits, check_upload_body
    body = (b'--B\r\nContent-Disposition: ' + disposition.encode()
            + b'\r\n\r\n' + data + b'\r\n') * copies + b'--B--\r\n'
    names = check_upload_body('multipart/form-data; boundary=B',
                              [body[i:i + 100]
                               for i in range(0, len(body), 100)],
                              UploadLimits(**_WEB_LIMITS))
    return float(names == ['y.png'])


def _page_option(text: str) -> float:
    from granzsl_mm.web_app.access import AppAccess
    AppAccess([]).options(text)
    return 1.0


def _allow_in_temp_root(tmp_path, folder: str = '',
                        gradio_dir: str = None) -> float:
    """``AppAccess.allow`` of a start-up file's folder, with the system
    temporary root at ``tmp_path`` (and gradio's uploads at
    ``gradio_dir``)."""
    import os
    import tempfile

    from granzsl_mm.web_app.access import AppAccess
    saved = tempfile.tempdir, os.environ.get('GRADIO_TEMP_DIR')
    tempfile.tempdir = str(tmp_path)
    if gradio_dir:
        os.environ['GRADIO_TEMP_DIR'] = str(tmp_path / gradio_dir)
    try:
        weights = tmp_path / folder / 'x.pt'
        AppAccess([]).allow(osp.dirname(str(weights)),
                            reason=f'--clip-weights {weights}')
    finally:
        tempfile.tempdir = saved[0]
        if saved[1] is None:
            os.environ.pop('GRADIO_TEMP_DIR', None)
        else:
            os.environ['GRADIO_TEMP_DIR'] = saved[1]
    return 1.0


def _web_rows():
    from granzsl_mm.web_app.access import AllowListError
    from granzsl_mm.web_app.inputs import AppInputError
    from granzsl_mm.web_app.uploads import UploadRefused
    named = 'form-data; name="files"; filename='
    return [
        Row('UploadDoor', 'filename="a.png"; filename="b.py", BMP bytes',
            lambda p: _upload(named + '"a.png"; filename="b.py"',
                              b'BM' + bytes(30)),
            Raises(UploadRefused, ('b.py', 'image suffix'))),
        Row('UploadDoor', 'filename="x.py"; filename="y.png" (stored as '
            'y.png)', lambda p: _upload(named + '"x.py"; filename="y.png"',
                                        b'BM' + bytes(30)),
            Equals(lambda: 1.0)),
        Row('UploadDoor', 'a .png that is not image data',
            lambda p: _upload(named + '"a.png"', b'import os\n'),
            Raises(UploadRefused, ('a.png', 'not image data'))),
        Row('UploadDoor', 'one file over max_file_bytes',
            lambda p: _upload(named + '"a.bmp"', b'BM' + bytes(1100)),
            Raises(UploadRefused, ('a.bmp', 'limit per file'))),
        Row('UploadDoor', 'three files under max_file_bytes, together over '
            'max_request_bytes',
            lambda p: _upload(named + '"a.bmp"', b'BM' + bytes(900), 3),
            Raises(UploadRefused, ('limit per request', ))),
        Row('AppAccess.options', 'model.logit_scale=nan',
            lambda p: _page_option('model.logit_scale=nan'),
            Raises(AppInputError, ('model.logit_scale', 'finite number'))),
        Row('AppAccess.options', 'model.logit_scale=inf',
            lambda p: _page_option('model.logit_scale=inf'),
            Raises(AppInputError, ('model.logit_scale', 'finite number'))),
        Row('AppAccess.options', 'model.logit_scale=-1e30',
            lambda p: _page_option('model.logit_scale=-1e30'),
            Raises(AppInputError, ('model.logit_scale',
                                   'from 0.001 to 1000'))),
        Row('AppAccess.options', 'model.logit_scale=20',
            lambda p: _page_option('model.logit_scale=20'),
            Equals(lambda: 1.0)),
        Row('AppAccess.allow', '--clip-weights directly in the temp root',
            lambda p: _allow_in_temp_root(p),
            Raises(AllowListError, ('--clip-weights', 'x.pt',
                                    'system temporary folder',
                                    'folder of their own'))),
        Row('AppAccess.allow', "a folder inside gradio's upload folder",
            lambda p: _allow_in_temp_root(p, 'uploads/abc',
                                          gradio_dir='uploads'),
            Raises(AllowListError, ("inside gradio's upload folder", ))),
        Row('AppAccess.allow', 'a folder of its own in the temp root',
            lambda p: _allow_in_temp_root(p, 'weights'),
            Equals(lambda: 1.0)),
    ]


WEB_ROWS = _web_rows()


@pytest.mark.parametrize('row', WEB_ROWS,
                         ids=[f'{r.door} x {r.bad_input}' for r in WEB_ROWS])
def test_web_entry_point(row: Row, tmp_path):
    test_entry_point(row, tmp_path)
