"""Draw an image with its ranked labels (matplotlib, no display needed)."""
import os.path as osp

import numpy as np

from granzsl_mm.utils.atomic_io import atomic_savefig

__all__ = ['draw_labels']


def draw_labels(image_rgb: np.ndarray, result: dict, out_file: str) -> str:
    """Save ``image_rgb`` with one line ``label  score  (source)`` per label.

    Args:
        image_rgb: ``[H, W, 3]`` uint8 RGB image.
        result: A result of ``MultiLabelInferencer`` (``labels``, ``scores``,
            ``sources``).
        out_file: Output picture path (PNG).

    Returns:
        str: ``out_file``.
    """
    import matplotlib
    matplotlib.use('Agg', force=False)
    import matplotlib.pyplot as plt

    lines = [f'{label}  {score:.3f}  ({source})' for label, score, source in
             zip(result['labels'], result['scores'], result['sources'])]
    fig, (ax_img, ax_txt) = plt.subplots(
        1, 2, figsize=(8, 4), gridspec_kw=dict(width_ratios=[1, 1]))
    ax_img.imshow(image_rgb)
    ax_img.set_axis_off()
    ax_txt.set_axis_off()
    ax_txt.text(0.0, 1.0, '\n'.join(lines) or '(no label above threshold)',
                va='top', ha='left', family='monospace', fontsize=10,
                transform=ax_txt.transAxes)
    title = result.get('img_path')
    if title:
        fig.suptitle(osp.basename(title), fontsize=10)
    try:
        return atomic_savefig(fig, out_file, dpi=80, bbox_inches='tight')
    finally:
        plt.close(fig)
