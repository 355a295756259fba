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
