"""The prediction picture: the image at a readable size, a panel beside it.

One drawing for every road that paints predictions: ``tools/infer.py
--show-dir``, :class:`~granzsl_mm.apis.MultiLabelInferencer` ``.visualize``
and ``tools/test.py --show-dir / --show`` (the
``OriginalImageVisualizationHook``), for every model family. The panel sits
beside the image (nothing covers it) and lists the top-k predictions with
their scores, then the ground truth when there is one; each line carries its
kind in words (``seen`` / ``unseen`` class, ``learned`` name / ``prompt``
word) and in colour (unseen in red). A prediction that is a ground-truth
positive is marked ``+``.

Rendered with matplotlib's Agg canvas (no display needed); the result is an
RGB array, saved as PNG through :func:`granzsl_mm.utils.atomic_io.atomic_open`.
"""
import os
import os.path as osp
import sys
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from granzsl_mm.utils.atomic_io import atomic_open

__all__ = ['PanelLine', 'Section', 'DEFAULT_SHORT_SIDE', 'KIND_COLOURS',
           'draw_label_panel', 'save_picture', 'draw_labels',
           'result_sections', 'sample_sections', 'has_display',
           'NoDisplayError']

#: Shorter side of the drawn image, in pixels (the networks' inputs are
#: 32-224 px; 48 px is unreadable on a screen).
DEFAULT_SHORT_SIDE = 384
#: Colour of each kind of line; the first kind of a line that is listed here
#: gives its colour (``unseen`` wins over ``learned``).
KIND_COLOURS = {'unseen': '#c62828', 'seen': '#1f3f8f',
                'learned': '#1f3f8f', 'prompt': '#6a1b9a'}
_PLAIN = '#202020'
_LINE = 19  # pixels per text line at _FONT_SIZE
_FONT_SIZE = 10.5
_CHAR = 8.9  # pixels per monospace character at _FONT_SIZE, 100 dpi
_MAX_LABEL = 30  # characters; longer labels end with an ellipsis

#: ``(label, score or None, kinds, hit)``: one line of the panel.
PanelLine = Tuple[str, Optional[float], Tuple[str, ...], bool]
#: ``(header, lines)``.
Section = Tuple[str, Sequence[PanelLine]]


class NoDisplayError(RuntimeError):
    """A window was asked for on a machine without a display."""


def has_display() -> bool:
    """Whether a window can be opened (an X / Wayland display, or a
    desktop OS)."""
    if sys.platform in ('darwin', 'win32'):
        return True
    return bool(os.environ.get('DISPLAY') or os.environ.get('WAYLAND_DISPLAY'))


def _resize(image_rgb: np.ndarray, short_side: int) -> np.ndarray:
    """``image_rgb`` with its shorter side ``short_side`` pixels (bicubic)."""
    from PIL import Image
    image = np.asarray(image_rgb)
    if image.ndim == 2:
        image = np.stack([image] * 3, axis=-1)
    image = np.ascontiguousarray(image[..., :3]).astype(np.uint8)
    h, w = image.shape[:2]
    scale = short_side / max(1, min(h, w))
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    if size == (w, h):
        return image
    return np.asarray(Image.fromarray(image).resize(size, Image.BICUBIC))


def _short(label: str) -> str:
    label = str(label)
    return label if len(label) <= _MAX_LABEL else label[:_MAX_LABEL - 1] + '…'


def _colour(kinds: Sequence[str]) -> str:
    for kind in KIND_COLOURS:
        if kind in kinds:
            return KIND_COLOURS[kind]
    return _PLAIN


def _line_text(rank: Optional[int], line: PanelLine) -> str:
    label, score, kinds, hit = line
    head = f'{rank:>2}. ' if rank is not None else '    '
    mark = '+' if hit else ' '
    text = f'{mark}{head}{_short(label)}'
    if score is not None:
        text = f'{text:<36}{score:>8.3f}'
    if kinds:
        text += f'  {"/".join(kinds)}'
    return text


def draw_label_panel(image_rgb: np.ndarray, sections: Sequence[Section],
                     title: Optional[str] = None,
                     short_side: int = DEFAULT_SHORT_SIDE) -> np.ndarray:
    """Draw the image and, beside it, the sections of labelled lines.

    Args:
        image_rgb (np.ndarray): ``[H, W, 3]`` (or ``[H, W]``) uint8 RGB.
        sections: ``(header, lines)`` pairs; a line is :data:`PanelLine`.
            Lines with a score are numbered (a ranking); lines without one
            (ground truth) are not.
        title (str, optional): First line of the panel (e.g. the file name).
        short_side (int): Shorter side of the drawn image in pixels.

    Returns:
        np.ndarray: ``[H', W', 3]`` uint8 RGB picture.
    """
    import matplotlib
    matplotlib.use('Agg', force=False)
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    image = _resize(image_rgb, short_side)
    h, w = image.shape[:2]
    rows: List[Tuple[str, str, str]] = []  # (text, colour, weight)
    if title:
        rows.append((_short(osp.basename(str(title))), _PLAIN, 'bold'))
    for header, lines in sections:
        rows.append((header, _PLAIN, 'bold'))
        ranked = [line for line in lines if line[1] is not None]
        for index, line in enumerate(lines):
            rank = index + 1 if line[1] is not None and ranked else None
            rows.append((_line_text(rank, line), _colour(line[2]), 'normal'))
        if not lines:
            rows.append(('    (none)', _PLAIN, 'normal'))
        rows.append(('', _PLAIN, 'normal'))
    if any(line[3] for _, lines in sections for line in lines):
        rows.append(('+ : a ground-truth label', _PLAIN, 'normal'))
    height = max(h, 12 + _LINE * len(rows))
    width = w + 34 + int(_CHAR * max(len(text) for text, _, _ in rows))
    dpi = 100
    fig = Figure(figsize=(width / dpi, height / dpi), dpi=dpi,
                 facecolor='white')
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0, 1 - h / height, w / width, h / height))
    ax.imshow(image, interpolation='nearest', aspect='equal')
    ax.set_axis_off()
    x = (w + 10) / width
    for row, (text, colour, weight) in enumerate(rows):
        y = 1 - (8 + _LINE * row) / height
        fig.text(x, y, text, va='top', ha='left', family='monospace',
                 fontsize=_FONT_SIZE, color=colour, fontweight=weight)
    fig.canvas.draw()
    picture = np.asarray(fig.canvas.buffer_rgba())[..., :3].copy()
    return picture


def save_picture(picture_rgb: np.ndarray, out_file: str) -> str:
    """Write an RGB picture as PNG, atomically.

    Returns:
        str: ``out_file``.
    """
    from PIL import Image
    with atomic_open(out_file, suffix='.png') as f:
        Image.fromarray(np.asarray(picture_rgb, dtype=np.uint8)).save(
            f, format='PNG')
    return out_file


def result_sections(result: Dict[str, Any],
                    unseen: Sequence[str] = ()) -> List[Section]:
    """Sections of an inferencer result: the merged ranking, else one
    ranking per source (learned names, prompt words).

    Args:
        result (dict): A :class:`~granzsl_mm.apis.MultiLabelInferencer`
            result (``labels`` / ``scores`` / ``sources`` when merged,
            ``by_source`` otherwise).
        unseen: Words that are unseen classes of the model (tagged
            ``unseen``).

    Returns:
        list: :data:`Section` pairs.
    """
    unseen = set(unseen)

    def line(label, score, source):
        kinds = (source, 'unseen') if label in unseen else (source, )
        return (label, float(score), kinds, False)

    if result.get('merged', 'labels' in result):
        lines = [line(*x) for x in zip(result['labels'], result['scores'],
                                       result['sources'])]
        return [('Predictions (score)', lines)]
    titles = {'learned': 'Learned names (score)',
              'prompt': 'Prompt words (score)'}
    return [(titles.get(source, f'{source} (score)'),
             [line(label, score, source) for label, score in zip(
                 ranked['labels'], ranked['scores'])])
            for source, ranked in result['by_source'].items()]


def _as_list(values) -> list:
    if values is None:
        return []
    if hasattr(values, 'detach'):
        values = values.detach().float().cpu().numpy()
    return np.asarray(values).reshape(-1).tolist()


def sample_sections(data_sample: Any, metainfo: Optional[dict],
                    topk: int = 5) -> List[Section]:
    """Sections of a test-loop data sample: top-k predictions, ground truth.

    The predictions rank ``pred_score`` (over all classes, or over the
    unseen / seen ones when that is its length); each class is tagged
    ``seen`` or ``unseen`` when the dataset has a zero-shot split
    (``metainfo['unseen_classes']``). The ground truth is ``gt_score``
    (1 positive, -1 unknown) or ``gt_label``.

    Args:
        data_sample: A data sample (``pred_score``; ``gt_score`` /
            ``gt_label`` when known).
        metainfo (dict, optional): The dataset's ``classes``,
            ``unseen_classes``.
        topk (int): Predictions listed.

    Returns:
        list: :data:`Section` pairs.
    """
    meta = dict(metainfo or {})
    classes = list(meta.get('classes') or [])
    unseen = list(meta.get('unseen_classes') or [])
    seen = list(meta.get('seen_classes') or [c for c in classes
                                              if c not in set(unseen)])
    get = data_sample.get if hasattr(data_sample, 'get') else (
        lambda key, default=None: getattr(data_sample, key, default))
    scores = _as_list(get('pred_score'))
    if len(scores) == len(classes) or not classes:
        names = classes
    elif unseen and len(scores) == len(unseen):
        names = unseen
    elif len(scores) == len(seen):
        names = seen
    else:
        names = []
    names = names or [f'class {i}' for i in range(len(scores))]
    unseen_set = set(unseen)

    def kinds(name: str) -> Tuple[str, ...]:
        if not unseen_set:
            return ()
        return ('unseen', ) if name in unseen_set else ('seen', )

    gt_score = _as_list(get('gt_score'))
    if gt_score:
        positives = [i for i, v in enumerate(gt_score) if v == 1]
        unknown = sum(1 for v in gt_score if v == -1)
    else:
        positives = [int(i) for i in _as_list(get('gt_label'))]
        unknown = 0
    gt_names = [classes[i] if i < len(classes) else f'class {i}'
                for i in positives]
    order = np.argsort(-np.asarray(scores, dtype=float), kind='stable')
    predictions = [(names[i], float(scores[i]), kinds(names[i]),
                    names[i] in gt_names) for i in order[:max(0, topk)]]
    sections: List[Section] = [(f'Top-{len(predictions)} predictions '
                                '(score)', predictions)]
    if gt_score or get('gt_label') is not None:
        header = 'Ground truth' + (f' (+{unknown} unknown)' if unknown
                                   else '')
        sections.append((header, [(name, None, kinds(name), False)
                                  for name in gt_names]))
    return sections


def draw_labels(image_rgb: np.ndarray, result: dict, out_file: str,
                unseen: Sequence[str] = (),
                short_side: int = DEFAULT_SHORT_SIDE) -> str:
    """Save the picture of one inferencer result.

    Args:
        image_rgb: ``[H, W, 3]`` uint8 RGB image.
        result: A result of ``MultiLabelInferencer``.
        out_file: Output picture path (PNG).
        unseen: Words that are unseen classes of the model.
        short_side: Shorter side of the drawn image in pixels.

    Returns:
        str: ``out_file``.
    """
    picture = draw_label_panel(image_rgb, result_sections(result, unseen),
                               title=result.get('img_path'),
                               short_side=short_side)
    return save_picture(picture, out_file)
