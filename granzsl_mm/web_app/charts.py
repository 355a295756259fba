"""What the web app shows: ranked-label bar charts and score-map overlays.

Plain HTML with inline styles (no gradio, no CSS file), so the charts look the
same in any gradio theme and tests can read them back from the page: every
row is an ``li.gz-row`` with ``data-label``, ``data-score``, ``data-source``
and, above the threshold, the ``gz-above`` class.
"""
import html
from typing import Dict, Optional, Sequence, Tuple

import numpy as np

__all__ = ['ranking_html', 'overlay_score_map']

_ABOVE = '#2e7d32'  # bar colour of labels at or above the threshold
_BELOW = '#90a4ae'


def _row(rank: int, label: str, score: float, source: str, width: float,
         above: bool) -> str:
    colour = _ABOVE if above else _BELOW
    weight = 'bold' if above else 'normal'
    cls = 'gz-row gz-above' if above else 'gz-row'
    return (
        f'<li class="{cls}" data-label="{html.escape(label, quote=True)}" '
        f'data-score="{score!r}" data-source="{html.escape(source)}" '
        'style="display:flex;align-items:center;gap:8px;margin:2px 0;'
        f'font-weight:{weight}">'
        f'<span style="width:2em;text-align:right;color:#666">{rank}</span>'
        '<span class="gz-label" style="width:14em;overflow:hidden;'
        f'text-overflow:ellipsis;white-space:nowrap">{html.escape(label)}'
        '</span>'
        '<span style="flex:1;background:#eceff1;height:14px;border-radius:3px">'
        f'<span style="display:block;width:{width:.1f}%;height:14px;'
        f'background:{colour};border-radius:3px"></span></span>'
        f'<span class="gz-score" style="width:5em;text-align:right;'
        f'font-family:monospace">{score:.3f}</span>'
        f'<span style="width:5em;color:#888;font-size:85%">{html.escape(source)}'
        '</span></li>')


_SOURCE_TITLES = dict(learned='Learned class names', prompt='Prompt words')


def _ranked_list(labels: Sequence[str], scores: Sequence[float],
                 sources: Sequence[str], threshold: Optional[float]) -> str:
    scores = [float(s) for s in scores]
    low = min(scores, default=0.0)
    high = max(scores, default=1.0)
    span = high - low
    rows = []
    for rank, (label, score, source) in enumerate(zip(labels, scores,
                                                      sources), start=1):
        # bars span [5, 100] % of the width from the lowest shown score
        width = 100.0 if span <= 0 else 5.0 + 95.0 * (score - low) / span
        above = threshold is not None and score >= threshold
        rows.append(_row(rank, label, score, source, width, above))
    return ('<ol class="gz-ranking" style="list-style:none;padding:0;'
            'margin:0">' + ''.join(rows) + '</ol>')


def ranking_html(results: Sequence[Dict], threshold: Optional[float] = None
                 ) -> str:
    """Bar charts of the ranked labels of each image.

    Learned class names and prompt words score on different scales, so a
    result whose ``by_source`` holds more than one source is shown as one
    list per source (``div.gz-source[data-source]``, bars and ranks per
    list), never as one mixed ranking.

    Args:
        results (Sequence[dict]): Per image ``name``, ``labels``, ``scores``
            (descending) and ``sources``; optionally ``by_source``
            (``{source: {'labels', 'scores'}}``).
        threshold (float, optional): Labels scoring at least this are
            highlighted (bold, green bar).

    Returns:
        str: An HTML fragment.
    """
    blocks = []
    for result in results:
        by_source = result.get('by_source') or {}
        if len(by_source) > 1:
            body = ''.join(
                f'<div class="gz-source" data-source="{html.escape(src)}" '
                'style="margin:4px 0 8px"><div style="color:#555;'
                f'font-size:90%">{html.escape(_SOURCE_TITLES.get(src, src))}'
                ' (own scale)</div>'
                + _ranked_list(ranked['labels'], ranked['scores'],
                               [src] * len(ranked['labels']), threshold)
                + '</div>' for src, ranked in by_source.items())
        else:
            body = _ranked_list(result['labels'], result['scores'],
                                result['sources'], threshold)
        name = html.escape(result['name'], quote=True)
        blocks.append(
            f'<div class="gz-image" data-image="{name}" style="margin:8px 0 16px">'
            f'<div style="font-weight:600;margin-bottom:4px">{name}</div>'
            + body + '</div>')
    legend = ('' if threshold is None else
              f'<div style="color:#555;font-size:90%">Highlighted: score &ge; '
              f'{threshold:g}</div>')
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
