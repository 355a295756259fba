"""Rankings of scores: per source (learned names, prompt words) or merged."""
from typing import Dict, List, Mapping, Optional, Sequence, Union

import torch

__all__ = ['rank_columns', 'rank_by_source',
           'standout_threshold', 'AUTO_THRESHOLD', 'Thresholds',
           'parse_threshold', 'source_thresholds', 'rank_merged',
           'standouts']

#: A source's threshold ``'auto'``: the labels that stand out on the image
#: (:func:`standout_threshold`).
AUTO_THRESHOLD = 'auto'
#: A threshold for every source (a number, ``'auto'`` or None), or one per
#: source (``{'learned': 5.0, 'prompt': 'auto'}``; a source not named: none).
Thresholds = Union[None, float, str, Mapping[str, Union[None, float, str]]]


def rank_columns(row: torch.Tensor, columns: Sequence[int], topk: Optional[int],
          threshold: Optional[float]) -> List[int]:
    """Columns of ``row`` by descending score (stable), cut by topk and
    threshold."""
    columns = list(columns)
    values = row[columns]
    order = [columns[i] for i in torch.sort(values, descending=True,
                                            stable=True).indices.tolist()]
    if topk is not None and topk > 0:
        order = order[:topk]
    if threshold is not None:
        order = [i for i in order if float(row[i]) >= threshold]
    return order


def rank_by_source(row: torch.Tensor, words: Sequence[str],
                   sources: Sequence[str], topk: Optional[int] = None,
                   threshold: Thresholds = None
                   ) -> Dict[str, Dict[str, list]]:
    """One ranking per score source (learned names, prompt words).

    Args:
        row: ``[V]`` scores of one image.
        words: The ``V`` words.
        sources: Per word its source.
        topk: Labels kept per source (None / <= 0: all).
        threshold: Keep labels scoring at least this: one value for every
            source or one per source (:data:`Thresholds`; ``'auto'``: the
            labels that stand out).

    Returns:
        dict: ``{source: {'labels': [...], 'scores': [...]}}`` in the order
        the sources first appear.
    """
    out = {}
    limits = source_thresholds(row, sources, threshold)
    for source in dict.fromkeys(sources):
        cols = [i for i, s in enumerate(sources) if s == source]
        order = rank_columns(row, cols, topk, limits[source])
        out[source] = dict(labels=[words[i] for i in order],
                           scores=[float(row[i]) for i in order])
    return out


def standout_threshold(row: torch.Tensor, columns: Sequence[int],
                       min_words: int = 3) -> Optional[float]:
    """The default highlight of one source: labels that stand out.

    Raw scores (``cosine x logit scale``) carry no threshold from one model
    to another, and 0 keeps nearly every word, so the default is relative to
    the image: the mean plus one (population) standard deviation of the
    source's scores over its whole vocabulary.

    Args:
        row: ``[V]`` scores of one image.
        columns: The columns of one source.
        min_words: Fewer words than this: no default (``None``); one or two
            scores say nothing about what stands out.

    Returns:
        float or None: The threshold.
    """
    columns = list(columns)
    if len(columns) < min_words:
        return None
    values = row[columns].double()
    return float(values.mean() + values.std(unbiased=False))


def parse_threshold(text: Optional[str]) -> Union[None, float, str]:
    """A threshold as typed (command line, web form): a number, ``'auto'``
    or nothing.

    Args:
        text: ``'5'``, ``'-14.5'``, ``'auto'``, ``''`` / ``'none'`` / None.

    Returns:
        float, ``'auto'`` or None.

    Raises:
        ValueError: Anything else.
    """
    if text is None or str(text).strip().lower() in ('', 'none'):
        return None
    text = str(text).strip().lower()
    if text == AUTO_THRESHOLD:
        return AUTO_THRESHOLD
    try:
        return float(text)
    except ValueError:
        raise ValueError(f'threshold {text!r}: a number, {AUTO_THRESHOLD!r} '
                         '(the labels that stand out on the image) or '
                         "'none'") from None


def source_thresholds(row: torch.Tensor, sources: Sequence[str],
                      thresholds: Thresholds) -> Dict[str, Optional[float]]:
    """The threshold each source of one image is cut at.

    Learned names and prompt words score on different scales (a learned
    name near 11 where every prompt word sits near -15), so a threshold is
    given per source; ``'auto'`` resolves to :func:`standout_threshold` of
    that source on this image.

    Args:
        row: ``[V]`` scores of one image.
        sources: Per word its source.
        thresholds: See :data:`Thresholds`.

    Returns:
        dict: ``{source: float or None}`` for every source of ``sources``.
    """
    out = {}
    for source in dict.fromkeys(sources):
        value = (thresholds.get(source) if isinstance(thresholds, Mapping)
                 else thresholds)
        if isinstance(value, str):
            value = parse_threshold(value)
        if value == AUTO_THRESHOLD:
            value = standout_threshold(
                row, [i for i, s in enumerate(sources) if s == source])
        out[source] = None if value is None else float(value)
    return out


def standouts(row: torch.Tensor, sources: Sequence[str]
              ) -> Dict[str, Optional[float]]:
    """Per source its :func:`standout_threshold` on one image (what the
    outputs highlight by default).

    Args:
        row: ``[V]`` scores of one image.
        sources: Per word its source.

    Returns:
        dict: ``{source: float or None}``.
    """
    return source_thresholds(row, sources, AUTO_THRESHOLD)


def rank_merged(row: torch.Tensor, sources: Sequence[str],
                topk: Optional[int] = None,
                threshold: Thresholds = None) -> List[int]:
    """One ranking over every word (one source, or calibrated scores), each
    word cut by its own source's threshold.

    Args:
        row: ``[V]`` scores of one image.
        sources: Per word its source.
        topk: Labels kept (None / <= 0: all).
        threshold: See :data:`Thresholds`.

    Returns:
        list[int]: The kept columns, best first.
    """
    limits = source_thresholds(row, sources, threshold)
    kept = [i for i, s in enumerate(sources)
            if limits[s] is None or float(row[i]) >= limits[s]]
    return rank_columns(row, kept, topk, None)
