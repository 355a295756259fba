"""Look at what a config's dataset really feeds the model."""
import copy
import os
import os.path as osp
from typing import List, Optional, Sequence, Tuple

import numpy as np

from .atomic_io import atomic_savefig, atomic_write_text

__all__ = ['browse_dataset', 'split_labels', 'BROWSE_MODES']

#: MMPretrain's browse_dataset modes: the stored file, the pipeline's output,
#: both side by side, every pipeline step in turn.
BROWSE_MODES = ('original', 'transformed', 'concat', 'pipeline')
SEEN_COLOUR, UNSEEN_COLOUR = 'black', 'tab:red'


def split_labels(metainfo: dict, gt_score=None, gt_label=None
                 ) -> Tuple[List[str], List[str], int]:
    """Positive labels of one item, seen and unseen apart.

    Args:
        metainfo (dict): Dataset metainfo (``classes``; ``unseen_classes``
            where the dataset has a zero-shot split).
        gt_score: Vector over the classes in {1, 0, -1}, or None.
        gt_label: Indices of the positives (used without ``gt_score``).

    Returns:
        tuple: ``(seen names, unseen names, number of unknown labels)``.
    """
    names = list(metainfo.get('classes') or [])
    unseen = set(metainfo.get('unseen_classes') or ())
    if gt_score is not None:
        score = np.asarray(gt_score, dtype=float)
        pos = np.flatnonzero(score == 1)
        unknown = int((score == -1).sum())
    else:
        pos = np.asarray(gt_label if gt_label is not None else [],
                         dtype=int).reshape(-1)
        unknown = 0
    labels = [names[i] if i < len(names) else str(i) for i in pos]
    return ([n for n in labels if n not in unseen],
            [n for n in labels if n in unseen], unknown)


def _to_rgb(image) -> np.ndarray:
    """A pipeline image (BGR array or CHW tensor) as an RGB uint8 array."""
    if hasattr(image, 'permute'):
        image = image.permute(1, 2, 0).cpu().numpy()
    image = np.asarray(image)
    if image.ndim == 2:
        image = np.stack([image] * 3, axis=-1)
    elif image.shape[-1] == 3:
        image = image[..., ::-1]  # BGR (mmcv loading) to RGB
    return np.clip(image, 0, 255).astype(np.uint8)


def _pipeline_steps(dataset, info: dict) -> List[Tuple[str, np.ndarray]]:
    """``(transform name, image)`` after each transform that holds one."""
    pipeline = getattr(dataset, 'pipeline', None)
    transforms = getattr(pipeline, 'transforms', None) or []
    results = copy.deepcopy(info)
    steps = []
    for transform in transforms:
        results = transform(results)
        if results is None:  # a transform dropped the item
            break
        image = results.get('inputs', results.get('img'))
        if image is not None:
            steps.append((type(transform).__name__, _to_rgb(image)))
    return steps


def _panels(dataset, index: int, info: dict, mode: str
            ) -> List[Tuple[str, np.ndarray]]:
    from PIL import Image
    original = [('original',
                 np.asarray(Image.open(info['img_path']).convert('RGB')))]
    if mode == 'original':
        return original
    if mode == 'pipeline':
        return _pipeline_steps(dataset, info) or original
    transformed = [('transformed', _to_rgb(dataset[index]['inputs']))]
    return transformed if mode == 'transformed' else original + transformed


def _draw(panels: Sequence[Tuple[str, np.ndarray]], labels, path: str
          ) -> None:
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    seen, unseen, unknown = labels
    fig, axes = plt.subplots(1, len(panels), squeeze=False,
                             figsize=(3 * len(panels), 3.6))
    for ax, (title, image) in zip(axes[0], panels):
        ax.imshow(image)
        ax.set_axis_off()
        if len(panels) > 1:
            ax.set_title(f'{title} {image.shape[1]}x{image.shape[0]}',
                         fontsize=7)
    lines = [('seen: ' + (', '.join(seen) or '-')
              + (f' (+{unknown} unknown)' if unknown else ''), SEEN_COLOUR)]
    if unseen:
        lines.append(('unseen: ' + ', '.join(unseen), UNSEEN_COLOUR))
    for row, (text, colour) in enumerate(lines):
        fig.text(0.5, 0.97 - 0.05 * row, text, ha='center', va='top',
                 fontsize=7, color=colour, wrap=True)
    fig.subplots_adjust(top=0.85 - 0.05 * (len(lines) - 1))
    atomic_savefig(fig, path, dpi=100)
    plt.close(fig)


def browse_dataset(dataset, out_dir: str, num: int = 8,
                   show_pipeline: bool = True,
                   mode: Optional[str] = None) -> List[str]:
    """Save the first ``num`` items of ``dataset`` as labelled PNG images.

    Positive labels are written above the picture, the seen ones in black
    and the unseen ones (``metainfo['unseen_classes']``) in red on their own
    line. Text-only datasets (GranZSL's sentences) go to ``texts.txt``.

    Args:
        dataset: A built dataset (items as mmengine datasets return them).
        out_dir (str): Output folder.
        num (int): How many items.
        show_pipeline (bool): Without ``mode``: ``'transformed'`` if True,
            else ``'original'``.
        mode (str, optional): One of :data:`BROWSE_MODES`: the image file as
            stored, the pipeline's output, both side by side (``concat``),
            or the image after every pipeline step (``pipeline``).

    Returns:
        list[str]: The written files.

    Raises:
        ValueError: For an unknown mode.
    """
    if mode is None:
        mode = 'transformed' if show_pipeline else 'original'
    if mode not in BROWSE_MODES:
        raise ValueError(f'mode must be one of {BROWSE_MODES}, got {mode!r}')
    os.makedirs(out_dir, exist_ok=True)
    metainfo = dict(dataset.metainfo)
    classes = metainfo.get('classes')
    written: List[str] = []
    texts = []
    for i in range(min(num, len(dataset))):
        info = dataset.get_data_info(i)
        if 'text' in info:
            name = classes[info['gt_label']] if classes else info['gt_label']
            texts.append(f'[{name}] {info["text"]}')
            continue
        labels = split_labels(metainfo, info.get('gt_score'),
                              info.get('gt_label'))
        path = osp.join(out_dir, f'{i:04d}_{osp.basename(info["img_path"])}')
        path = osp.splitext(path)[0] + '.png'
        _draw(_panels(dataset, i, info, mode), labels, path)
        written.append(path)
    if texts:
        path = osp.join(out_dir, 'texts.txt')
        atomic_write_text('\n'.join(texts) + '\n', path)
        written.append(path)
    return written
