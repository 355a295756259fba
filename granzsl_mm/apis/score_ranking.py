"""Rankings of scores: per source (learned names, prompt words) or merged."""
from typing import Any, Dict, List, Optional, Sequence

import torch

__all__ = ['rank_columns', 'rank_by_source', 'lines_to_draw']


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
                   threshold: Optional[float] = None
                   ) -> Dict[str, Dict[str, list]]:
    """One ranking per score source (learned names, prompt words).

    Args:
        row: ``[V]`` scores of one image.
        words: The ``V`` words.
        sources: Per word its source.
        topk: Labels kept per source (None / <= 0: all).
        threshold: Keep labels scoring at least this.

    Returns:
        dict: ``{source: {'labels': [...], 'scores': [...]}}`` in the order
        the sources first appear.
    """
    out = {}
    for source in dict.fromkeys(sources):
        cols = [i for i, s in enumerate(sources) if s == source]
        order = rank_columns(row, cols, topk, threshold)
        out[source] = dict(labels=[words[i] for i in order],
                           scores=[float(row[i]) for i in order])
    return out


def lines_to_draw(result: Dict[str, Any]) -> Dict[str, Any]:
    """The lines to draw: the merged ranking, else one block per source."""
    if result.get('merged'):
        return result
    labels, scores, sources = [], [], []
    for source, ranked in result['by_source'].items():
        labels += ranked['labels']
        scores += ranked['scores']
        sources += [source] * len(ranked['labels'])
    return dict(labels=labels, scores=scores, sources=sources)
