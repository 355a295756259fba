"""Image and label counts of a converted annotation (printed by the tools)."""
from typing import Dict, List, Sequence

import numpy as np

__all__ = ['label_summary', 'format_summary']


def label_summary(labels: Sequence[Sequence[int]],
                  classes: Sequence[str]) -> Dict[str, object]:
    """Counts of a list of per-image positive-index lists.

    Args:
        labels (Sequence[Sequence[int]]): Positive class indices per image.
        classes (Sequence[str]): Class names (index space of ``labels``).

    Returns:
        dict: ``images``, ``labels`` (positive image-label pairs),
        ``images_without_labels``, ``labels_per_image`` (mean),
        ``classes``, ``classes_without_images`` (names).
    """
    per_class = np.zeros(len(classes), np.int64)
    for pos in labels:
        per_class[np.asarray(pos, dtype=np.int64)] += 1
    num = len(labels)
    total = int(per_class.sum())
    return dict(
        images=num, labels=total,
        images_without_labels=sum(1 for pos in labels if not len(pos)),
        labels_per_image=round(total / num, 3) if num else 0.0,
        classes=len(classes),
        classes_without_images=[c for c, n in zip(classes, per_class)
                                if n == 0])


def format_summary(summaries: Dict[str, Dict[str, object]]) -> str:
    """A small table: one row per output file.

    Args:
        summaries (dict): Output name -> :func:`label_summary` dict (plus
            optional ``path``).

    Returns:
        str: The table.
    """
    head = ('output', 'images', 'no label', 'classes', 'labels', 'per image')
    rows: List[Sequence[str]] = [head]
    for name, s in summaries.items():
        rows.append((name, str(s['images']), str(s['images_without_labels']),
                     str(s['classes']), str(s['labels']),
                     f"{s['labels_per_image']:.2f}"))
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    lines = ['  '.join(v.ljust(w) for v, w in zip(r, widths)) for r in rows]
    for name, s in summaries.items():
        if s['classes_without_images']:
            lines.append(f'{name}: classes without any image: '
                         f"{s['classes_without_images']}")
        if s.get('path'):
            lines.append(f"{name}: written to {s['path']}")
    return '\n'.join(lines)
