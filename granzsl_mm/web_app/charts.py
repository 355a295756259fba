"""What the web app shows: ranked-label bar charts and score-map overlays.

Plain HTML with inline styles (no gradio, no CSS file), so the charts look the
same in any gradio theme and tests can read them back from the page: every
source block is a ``div.gz-source`` with ``data-source`` and
``data-threshold``; every row an ``li.gz-row`` with ``data-label``,
``data-score``, ``data-source``, ``data-bar`` (the bar's signed length in %
of the page's scale) and, at or above its source's threshold, the
``gz-above`` class.

One honest scale: every bar of the page (all images, both sources) is drawn
from zero on the same axis, ``[min(0, lowest), max(0, highest)]`` of the
scores shown; a negative score draws to the left of the zero line, and the
value is printed beside each bar. A prompt word at -1.57 next to a learned
name at 11 draws a short bar to the left, never a full one.
"""
import html
from typing import Dict, Optional, Sequence, Tuple

import numpy as np

__all__ = ['ranking_html', 'overlay_score_map', 'SOURCE_TITLES']

_ABOVE = '#2e7d32'  # bar colour of labels at or above the threshold
_BELOW = '#90a4ae'
SOURCE_TITLES = dict(learned='Learned class names', prompt='Prompt words')


def _row(rank: int, label: str, score: float, source: str,
         axis: Tuple[float, float], above: bool) -> str:
    low, high = axis
    span = high - low
    zero = 100.0 * (0.0 - low) / span
    bar = 100.0 * score / span  # signed length in % of the track
    left = zero + min(bar, 0.0)
    colour = _ABOVE if above else _BELOW
    weight = 'bold' if above else 'normal'
    cls = 'gz-row gz-above' if above else 'gz-row'
    return (
        f'<li class="{cls}" data-label="{html.escape(label, quote=True)}" '
        f'data-score="{score!r}" data-source="{html.escape(source)}" '
        f'data-bar="{bar:.2f}" '
        'style="display:flex;align-items:center;gap:8px;margin:2px 0;'
        f'font-weight:{weight}">'
        f'<span style="width:2em;text-align:right;color:#666">{rank}</span>'
        '<span class="gz-label" style="width:14em;overflow:hidden;'
        f'text-overflow:ellipsis;white-space:nowrap">{html.escape(label)}'
        '</span>'
        '<span style="flex:1;position:relative;background:#eceff1;'
        'height:14px;border-radius:3px">'
        f'<span style="position:absolute;left:{zero:.2f}%;top:0;bottom:0;'
        'border-left:1px solid #455a64"></span>'
        f'<span class="gz-bar" style="position:absolute;left:{left:.2f}%;'
        f'width:{abs(bar):.2f}%;height:14px;background:{colour};'
        'border-radius:3px"></span></span>'
        f'<span class="gz-score" style="width:5em;text-align:right;'
        f'font-family:monospace">{score:.3f}</span>'
        f'<span style="width:5em;color:#888;font-size:85%">{html.escape(source)}'
        '</span></li>')


def _ranked_list(labels: Sequence[str], scores: Sequence[float], source: str,
                 threshold: Optional[float], axis: Tuple[float, float]) -> str:
    rows = []
    for rank, (label, score) in enumerate(zip(labels, scores), start=1):
        above = threshold is not None and score >= threshold
        rows.append(_row(rank, label, float(score), source, axis, above))
    return ('<ol class="gz-ranking" style="list-style:none;padding:0;'
            'margin:0">' + ''.join(rows) + '</ol>')


def _by_source(result: Dict) -> Dict[str, Dict[str, list]]:
    """``{source: {'labels', 'scores'}}`` of a result (its ``by_source`` or
    its merged ranking split by source, order kept)."""
    if result.get('by_source'):
        return result['by_source']
    out: Dict[str, Dict[str, list]] = {}
    for label, score, source in zip(result['labels'], result['scores'],
                                    result['sources']):
        ranked = out.setdefault(source, dict(labels=[], scores=[]))
        ranked['labels'].append(label)
        ranked['scores'].append(score)
    return out


def _threshold_note(value: Optional[float], auto: bool) -> str:
    if value is None:
        return ('nothing highlighted (fewer than 3 words to compare)' if auto
                else 'nothing highlighted')
    how = ("auto: mean + 1 std of the source's scores on this image" if auto
           else 'yours')
    return f'highlighted &ge; {value:.3f} ({how})'


def ranking_html(results: Sequence[Dict],
                 thresholds: Optional[Dict[str, object]] = None) -> str:
    """Bar charts of the ranked labels of each image, one list per source.

    Learned class names and prompt words score on different scales, so each
    source is ranked and highlighted on its own (``div.gz-source``), while
    all bars share one axis through zero (see the module).

    Args:
        results (Sequence[dict]): Per image ``name``, ``labels``, ``scores``
            (descending) and ``sources``; optionally ``by_source``
            (``{source: {'labels', 'scores'}}``) and ``auto_thresholds``
            (``{source: value or None}``, the default highlight of each
            source).
        thresholds (dict, optional): Per source the user's threshold: a
            number, ``None`` (nothing highlighted) or ``'auto'``; a source
            not named is ``'auto'``: the result's ``auto_thresholds``.

    Returns:
        str: An HTML fragment.
    """
    thresholds = dict(thresholds or {})
    shown = [float(s) for r in results
             for ranked in _by_source(r).values() for s in ranked['scores']]
    axis = (min([0.0] + shown), max([0.0] + shown))
    if axis[1] - axis[0] <= 0:
        axis = (0.0, 1.0)
    blocks = []
    for result in results:
        auto = result.get('auto_thresholds') or {}
        body = ''
        for src, ranked in _by_source(result).items():
            value = thresholds.get(src, 'auto')
            is_auto = value == 'auto'
            value = auto.get(src) if is_auto else value
            title = SOURCE_TITLES.get(src, src)
            body += (
                f'<div class="gz-source" data-source="{html.escape(src)}" '
                f'data-threshold="{"" if value is None else repr(value)}" '
                'style="margin:4px 0 8px"><div style="color:#555;'
                f'font-size:90%">{html.escape(title)}: '
                f'{_threshold_note(value, is_auto)}</div>'
                + _ranked_list(ranked['labels'], ranked['scores'], src,
                               value, axis) + '</div>')
        name = html.escape(result['name'], quote=True)
        blocks.append(
            f'<div class="gz-image" data-image="{name}" style="margin:8px 0 16px">'
            f'<div style="font-weight:600;margin-bottom:4px">{name}</div>'
            + body + '</div>')
    legend = ('<div style="color:#555;font-size:90%">Bars: one scale for '
              f'the whole page, from {axis[0]:.3f} to {axis[1]:.3f}, drawn '
              'from zero (the line); the value is printed beside each.</div>')
    return '<div class="gz-results">' + legend + ''.join(blocks) + '</div>'


def overlay_score_map(image_rgb: np.ndarray, score_map: np.ndarray,
                      alpha: float = 0.5, side: Optional[int] = 384
                      ) -> Tuple[np.ndarray, Tuple[float, float]]:
    """Blend a (low-resolution) score map over its image.

    The map is min-max normalised, upsampled bilinearly to the image, coloured
    with matplotlib's ``jet`` and alpha-blended.

    Args:
        image_rgb (np.ndarray): ``[H, W, 3]`` uint8 RGB image.
        score_map (np.ndarray): ``[h, w]`` scores (cosines).
        alpha (float): Weight of the colour map.
        side (int, optional): Resize the image to this longest side first
            (small pictures are hard to see, large ones slow); ``None``
            keeps its size.

    Returns:
        tuple: ``[H', W', 3]`` uint8 overlay and the map's ``(min, max)``.
    """
    from matplotlib import colormaps
    from PIL import Image
    if score_map.ndim != 2:
        raise ValueError(f'score map must be [h, w], got {score_map.shape}')
    image = Image.fromarray(np.asarray(image_rgb, dtype=np.uint8))
    scale = side / max(image.size) if side else 1.0
    if scale != 1:
        image = image.resize((max(1, round(image.width * scale)),
                              max(1, round(image.height * scale))),
                             Image.BILINEAR)
    low, high = float(score_map.min()), float(score_map.max())
    norm = (score_map - low) / (high - low) if high > low else \
        np.zeros_like(score_map, dtype=np.float64)
    norm_img = Image.fromarray(norm.astype(np.float32)).resize(
        image.size, Image.BILINEAR)
    colours = colormaps['jet'](np.clip(np.asarray(norm_img), 0, 1))[..., :3]
    blended = (1 - alpha) * np.asarray(image, dtype=np.float64) / 255 + \
        alpha * colours
    return (np.clip(blended * 255, 0, 255).round().astype(np.uint8),
            (low, high))
