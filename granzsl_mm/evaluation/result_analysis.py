"""Per class, the best- and worst-scored test images of a prediction dump.

What MMPretrain's ``tools/analysis_tools/analyze_results.py`` shows for
single-label classification (the successes and failures), for a
multi-label ZSL dump (``tools/test.py --out``, read by
:func:`~granzsl_mm.evaluation.prediction_dump.load_predictions`). For each
class:

* **top-scored**: the ``k`` images the model scores highest for the class,
  each marked as a hit (labelled positive) or a false alarm (negative or
  unknown);
* **lowest-scored positives**: the ``k`` images labelled positive that the
  model scores lowest for the class (its misses).

:func:`select_examples` makes the choice (ties broken by image order, so
the choice is reproducible); :func:`draw_class_examples` draws one class's
picture (two rows of images, each with its score, whether it is a positive,
and its labelled classes); :func:`analyze_results` writes one PNG per class
and ``summary.json`` (the same choice as data); an image that cannot be
read is drawn as a note and reported.
"""
import json
import os
import os.path as osp
import textwrap
from typing import Dict, List, Optional, Sequence

import numpy as np

from granzsl_mm.utils.atomic_io import atomic_savefig, atomic_write_text

__all__ = ['select_examples', 'draw_class_examples', 'analyze_results']

# a picture's cell: inches at 100 dpi (images are shown at least this big)
_CELL = 2.4
# labelled classes listed under an image
_MAX_LABELS = 4


def _matrix(rows: Sequence[dict], key: str) -> np.ndarray:
    from .prediction_dump import to_plain_data
    return np.stack([np.asarray(to_plain_data(r[key]), dtype=np.float64)
                     for r in rows])


def select_examples(scores: np.ndarray, targets: np.ndarray,
                    topk: int = 4) -> List[Dict[str, List[int]]]:
    """Per class, the top-scored images and the lowest-scored positives.

    Args:
        scores: ``[N, C]`` scores.
        targets: ``[N, C]`` labels in {1, 0, -1}.
        topk: Images per row.

    Returns:
        list[dict]: One dict per class: ``top`` (image indices, highest
        score first) and ``worst_positives`` (indices of positives, lowest
        score first). Ties keep image order.
    """
    scores = np.asarray(scores)
    targets = np.asarray(targets)
    if scores.shape != targets.shape or scores.ndim != 2:
        raise ValueError(f'scores {scores.shape} and targets '
                         f'{targets.shape} must be the same [N, C]')
    if topk < 1:
        raise ValueError(f'topk must be >= 1, got {topk}')
    out = []
    for c in range(scores.shape[1]):
        order = np.argsort(-scores[:, c], kind='stable')
        positives = np.flatnonzero(targets[:, c] == 1)
        worst = positives[np.argsort(scores[positives, c], kind='stable')]
        out.append(dict(top=order[:topk].tolist(),
                        worst_positives=worst[:topk].tolist()))
    return out


def _labels_of(target: np.ndarray, classes: Sequence[str]) -> str:
    names = [classes[i] for i in np.flatnonzero(target == 1)]
    if not names:
        return 'labels: none'
    more = len(names) - _MAX_LABELS
    text = ', '.join(names[:_MAX_LABELS]) + (f' +{more}' if more > 0 else '')
    return 'labels: ' + text


def draw_class_examples(class_name: str, rows: Sequence[dict],
                        choice: Dict[str, List[int]], class_index: int,
                        classes: Sequence[str], scores: np.ndarray,
                        targets: np.ndarray, method: Optional[str] = None,
                        unreadable: Optional[Dict[str, str]] = None):
    """One class's picture: top-scored images above, lowest-scored
    positives below.

    Args:
        class_name: The class.
        rows: The dump's rows (``img_path`` of each image).
        choice: :func:`select_examples` for this class.
        class_index: The class's column.
        classes: All class names (the labels under each image).
        scores: ``[N, C]`` scores.
        targets: ``[N, C]`` labels.
        method: The method's name (in the title).
        unreadable: Filled with ``path -> reason`` of each image that
            cannot be read (drawn as a note in its cell).

    Returns:
        matplotlib.figure.Figure: The figure (not saved).
    """
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    from granzsl_mm.utils.image_io import read_image
    lines = (('top-scored', choice['top']),
             ('lowest-scored positives', choice['worst_positives']))
    ncols = max(1, max(len(idx) for _, idx in lines))
    fig, axes = plt.subplots(2, ncols, figsize=(_CELL * ncols + 0.6,
                                                2 * (_CELL + 1.2)),
                             squeeze=False)
    for r, (what, indices) in enumerate(lines):
        for j in range(ncols):
            ax = axes[r][j]
            ax.set_xticks([])
            ax.set_yticks([])
            if j >= len(indices):
                ax.axis('off')
                if j == 0:
                    ax.text(0.5, 0.5, f'{what}: none', ha='center',
                            va='center', fontsize=10)
                continue
            i = indices[j]
            path = str(rows[i].get('img_path') or '')
            try:
                # the reader gives BGR (mmcv's convention)
                ax.imshow(read_image(path)[..., ::-1],
                          interpolation='nearest')
            except Exception as e:  # a missing image is drawn as a note
                ax.text(0.5, 0.5, f'cannot read\n{type(e).__name__}',
                        ha='center', va='center', fontsize=9)
                if unreadable is not None:
                    unreadable[path] = f'{type(e).__name__}: {e}'
            label = int(targets[i, class_index])
            mark = {1: 'positive', 0: 'negative'}.get(label, 'unknown')
            colour = 'tab:green' if label == 1 else 'tab:red'
            for spine in ax.spines.values():
                spine.set_edgecolor(colour)
                spine.set_linewidth(3)
            ax.set_title(f'score {scores[i, class_index]:.3f} ({mark})',
                         fontsize=10, color=colour)
            ax.set_xlabel(
                '\n'.join([textwrap.shorten(osp.basename(path), 30)] +
                          textwrap.wrap(_labels_of(targets[i], classes),
                                        32)[:2]),
                fontsize=8)
            if j == 0:
                ax.set_ylabel(what, fontsize=10)
    title = f'{class_name}: top-scored images and lowest-scored positives'
    fig.suptitle(f'{title} ({method})' if method else title, fontsize=12)
    fig.tight_layout()
    return fig


def analyze_results(rows: Sequence[dict], classes: Sequence[str],
                    out_dir: str, topk: int = 4,
                    only: Optional[Sequence[str]] = None,
                    method: Optional[str] = None) -> Dict[str, object]:
    """Write one PNG per class and ``summary.json`` into ``out_dir``.

    Args:
        rows: A prediction dump's rows (``pred_score``, ``gt_score``,
            ``img_path``), as :func:`load_predictions` returns them.
        classes: Class names of the ``pred_score`` columns.
        out_dir: Output folder (created).
        topk: Images per row.
        only: Class names to draw (default: every class).
        method: The method's name (in the titles).

    Returns:
        dict: ``pictures`` (class -> PNG path), ``summary`` (path) and
        ``unreadable`` (``path -> reason`` of each drawn image that could
        not be read: a note in its cell, and listed in ``summary.json``).

    Raises:
        ValueError: Rows without scores or labels, a class count that does
            not match ``classes``, or unknown names in ``only``.
    """
    import matplotlib.pyplot as plt
    if not rows:
        raise ValueError('the prediction dump holds no image')
    missing = [k for k in ('pred_score', 'gt_score') if k not in rows[0]]
    if missing:
        raise ValueError(f'the dump rows lack {missing}: analyze a dump of '
                         '`tools/test.py --out preds.pth` on a labelled '
                         'test set')
    scores = _matrix(rows, 'pred_score')
    targets = _matrix(rows, 'gt_score').astype(np.int64)
    if scores.shape[1] != len(classes):
        raise ValueError(f'the dump scores {scores.shape[1]} classes, the '
                         f'class list has {len(classes)}: give the config '
                         'or class list of the run that made the dump')
    wanted = list(range(len(classes)))
    if only:
        unknown = [n for n in only if n not in classes]
        if unknown:
            raise ValueError(f'unknown classes {unknown}; the dump\'s '
                             f'classes are {list(classes)[:10]} ...')
        wanted = [list(classes).index(n) for n in only]
    choices = select_examples(scores, targets, topk)
    os.makedirs(out_dir, exist_ok=True)
    pictures, summary, unreadable = {}, [], {}
    for c in wanted:
        name = classes[c]
        safe = ''.join(ch if ch.isalnum() or ch in '-_' else '_'
                       for ch in name)
        path = osp.join(out_dir, f'{c:04d}_{safe}.png')
        fig = draw_class_examples(name, rows, choices[c], c, classes,
                                  scores, targets, method, unreadable)
        atomic_savefig(fig, path, dpi=100)
        plt.close(fig)
        pictures[name] = path
        summary.append(dict(
            index=c, name=name, picture=osp.basename(path),
            positives=int((targets[:, c] == 1).sum()),
            **{key: [dict(img_path=str(rows[i].get('img_path')),
                          score=float(scores[i, c]),
                          label=int(targets[i, c])) for i in idx]
               for key, idx in choices[c].items()}))
    summary_path = osp.join(out_dir, 'summary.json')
    atomic_write_text(json.dumps(dict(method=method, topk=topk,
                                      classes=summary,
                                      unreadable=unreadable), indent=1),
                      summary_path)
    return dict(pictures=pictures, summary=summary_path,
                unreadable=unreadable)
