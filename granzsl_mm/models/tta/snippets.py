"""Snippet test-time aggregation of GranZSL (pure torch, no mmengine).

The image (resized to ``S x S``) is cut into an ``n x n`` grid of square
snippets for each grid size ``n``; every snippet is resized back to ``S`` and
encoded together with the full image. Cosine maps of the snippets of a grid
are tiled back into one large map and max-pooled to the full image's map
size; the local and global evidence of all grids and of the full image are
averaged (see :func:`aggregate_snippets`). The logit scale ``s`` is a
required argument of every scoring function (the models and configs set it:
GranZSL's configs use 20).

Resizing: GranZSL's reference (RCNn) cuts the crops from a PIL image resized
to 224 x 224 (PIL's default, bicubic) and resizes every crop back with
torchvision ``Resize((224, 224))``, i.e. PIL **bilinear** on uint8 (rounded
per crop); its full view is that bilinear ``Resize`` of the original image.
:func:`cut_snippets` resizes float tensors with ``F.interpolate(mode=...,
antialias=True)``: ``'bilinear'`` (the reference's crop resize; GranZSL's
paper configs) or ``'bicubic'`` (a named option, sharper). No rounding to
uint8 (and, for bicubic, no clipping of the overshoot), and it may run after
normalisation (resizing is linear, so it commutes with the per-channel affine
map): pixels differ from PIL's by the uint8 rounding (bilinear) or a few grey
levels near strong edges (bicubic). The crops are cut from the one test
image of the batch (the reference cuts them from a second, bicubic 224
image; the ``CutSnippets`` transform with ``snippet_source='pipeline'`` of
the TTA models does that): see ``docs/reference_differences.md``.
"""
from typing import List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F

__all__ = [
    'snippet_boxes', 'num_snippets', 'cut_snippets', 'local_scores',
    'image_scores', 'aggregate_snippets', 'SCORE_MODES', 'RESIZE_MODES'
]

SCORE_MODES = ('both', 'global', 'local')
# Snippet resize modes of :func:`cut_snippets` (``F.interpolate`` modes).
RESIZE_MODES = ('bilinear', 'bicubic')


def _check_grids(grids: Sequence[int]) -> Tuple[int, ...]:
    grids = tuple(int(n) for n in grids)
    if any(n < 1 for n in grids):
        raise ValueError(f'grid sizes must be >= 1, got {grids}')
    return grids


def snippet_boxes(size: int, grids: Sequence[int]) -> List[Tuple[int, int, int, int]]:
    """Boxes of the snippets of an ``S x S`` image, grids in order.

    For grid ``n`` the crop width is ``w = floor(S / n)`` and crop (row ``i``,
    column ``j``) is ``(j*w, i*w, (j+1)*w, (i+1)*w)``, row-major. The full
    image is not included.

    Args:
        size (int): Side ``S`` of the (square) image.
        grids (Sequence[int]): Grid sizes, e.g. ``(2, 3)``.

    Returns:
        list[tuple[int, int, int, int]]: ``(x1, y1, x2, y2)`` boxes,
        ``sum(n*n for n in grids)`` of them.
    """
    grids = _check_grids(grids)
    boxes = []
    for n in grids:
        w = size // n
        if w < 1:
            raise ValueError(f'grid {n} is too fine for an image of size {size}')
        for i in range(n):
            for j in range(n):
                boxes.append((j * w, i * w, (j + 1) * w, (i + 1) * w))
    return boxes


def num_snippets(grids: Sequence[int]) -> int:
    """Number of snippets ``K = sum(n*n)`` for these grids."""
    return sum(n * n for n in _check_grids(grids))


def cut_snippets(images: torch.Tensor, grids: Sequence[int],
                 out_size: Optional[int] = None,
                 mode: str = 'bicubic') -> torch.Tensor:
    """Cut the snippets of a batch of square images and resize them.

    Args:
        images (torch.Tensor): ``[B, 3, S, S]`` float images.
        grids (Sequence[int]): Grid sizes, in order.
        out_size (int, optional): Side of the resized snippets. Defaults to
            ``S``.
        mode (str): Resize mode, one of :data:`RESIZE_MODES`:
            ``'bilinear'`` (the GranZSL reference's crop resize) or
            ``'bicubic'``; both antialiased (``F.interpolate``).

    Returns:
        torch.Tensor: ``[B, K, 3, out_size, out_size]`` snippets in the order
        of :func:`snippet_boxes`.
    """
    if images.dim() != 4 or images.shape[-1] != images.shape[-2]:
        raise ValueError('images must be [B, C, S, S] (square), got '
                         f'{tuple(images.shape)}')
    if mode not in RESIZE_MODES:
        raise ValueError(f'mode must be one of {RESIZE_MODES}, got {mode!r}')
    grids = _check_grids(grids)
    bsz, chans, size = images.shape[0], images.shape[1], images.shape[-1]
    out_size = size if out_size is None else int(out_size)
    if not grids:
        return images.new_zeros(bsz, 0, chans, out_size, out_size)
    if not images.is_floating_point():
        images = images.float()
    per_grid = []
    for n in grids:
        w = size // n
        crops = images[:, :, :n * w, :n * w].reshape(bsz, chans, n, w, n, w)
        # [B, C, i, h, j, w] -> [B, i, j, C, h, w]: row-major crops.
        crops = crops.permute(0, 2, 4, 1, 3, 5).reshape(bsz * n * n, chans, w, w)
        if w != out_size:  # all crops of a grid share a size: one call
            crops = F.interpolate(crops, size=(out_size, out_size),
                                  mode=mode, align_corners=False,
                                  antialias=True)
        per_grid.append(crops.reshape(bsz, n * n, chans, out_size, out_size))
    return torch.cat(per_grid, dim=1)


def local_scores(local: torch.Tensor, logit_scale: float) -> torch.Tensor:
    """Softmax-weighted pooling of cosine maps over positions.

    Args:
        local (torch.Tensor): ``[B, C, h, w]`` (or ``[B, C, P]``) cosines.
        logit_scale (float): ``s``.

    Returns:
        torch.Tensor: ``[B, C]`` = ``sum_p softmax_p(s*L) * (s*L)``.
    """
    logits = logit_scale * local.flatten(2)
    return (logits.softmax(dim=-1) * logits).sum(dim=-1)


def _combine(global_term: torch.Tensor, local_term: torch.Tensor,
             mode: str) -> torch.Tensor:
    if mode == 'both':
        return 0.5 * (global_term + local_term)
    if mode == 'global':
        return global_term
    if mode == 'local':
        return local_term
    raise ValueError(f'mode must be one of {SCORE_MODES}, got {mode!r}')


def image_scores(full_local: torch.Tensor, full_global: torch.Tensor,
                 logit_scale: float, mode: str = 'both') -> torch.Tensor:
    """Scores of the full image alone (no snippets).

    Args:
        full_local (torch.Tensor): ``[B, C, h, w]`` cosine maps.
        full_global (torch.Tensor): ``[B, C]`` global cosines.
        logit_scale (float): ``s``.
        mode (str): ``'both'`` (``0.5 * (s*G + local)``), ``'global'`` or
            ``'local'``.

    Returns:
        torch.Tensor: ``[B, C]`` scores.
    """
    return _combine(logit_scale * full_global,
                    local_scores(full_local, logit_scale), mode)


def aggregate_snippets(full_local: torch.Tensor, full_global: torch.Tensor,
                       crop_local: torch.Tensor, crop_global: torch.Tensor,
                       grids: Sequence[int], logit_scale: float,
                       mode: str = 'both') -> torch.Tensor:
    """Merge the evidence of the full image and of its snippets.

    Per grid ``n``: the ``n*n`` snippets' ``[C, h, w]`` maps are tiled
    row-major into ``[C, n*h, n*w]`` and max-pooled (kernel ``n``, stride
    ``n``); the grid's global cosine is the max over its snippets. The local
    map is the mean of the grids' pooled maps and the full image's map,
    pooled by :func:`local_scores`; the global term is ``s`` times the mean
    of the grids' maxima and the full image's global cosine; the score is
    ``0.5 * (global + local)``. With ``grids=()`` this is
    :func:`image_scores`.

    Args:
        full_local (torch.Tensor): ``[B, C, h, w]`` cosines of the full image.
        full_global (torch.Tensor): ``[B, C]`` global cosines of the full image.
        crop_local (torch.Tensor): ``[B, K, C, h, w]`` snippet cosine maps.
        crop_global (torch.Tensor): ``[B, K, C]`` snippet global cosines.
        grids (Sequence[int]): Grid sizes in the order of the snippets.
        logit_scale (float): ``s``.
        mode (str): ``'both'``, ``'global'`` or ``'local'``.

    Returns:
        torch.Tensor: ``[B, C]`` scores.
    """
    grids = _check_grids(grids)
    if full_local.dim() != 4:
        raise ValueError(f'full_local must be [B, C, h, w], got '
                         f'{tuple(full_local.shape)}')
    bsz, num_cls, h, w = full_local.shape
    k_total = num_snippets(grids)
    if crop_local.shape != (bsz, k_total, num_cls, h, w):
        raise ValueError(f'crop_local must be {(bsz, k_total, num_cls, h, w)} '
                         f'for grids {grids}, got {tuple(crop_local.shape)}')
    if crop_global.shape != (bsz, k_total, num_cls):
        raise ValueError(f'crop_global must be {(bsz, k_total, num_cls)}, got '
                         f'{tuple(crop_global.shape)}')
    if full_global.shape != (bsz, num_cls):
        raise ValueError(f'full_global must be {(bsz, num_cls)}, got '
                         f'{tuple(full_global.shape)}')
    local_maps, global_vals = [], []
    start = 0
    for n in grids:
        maps = crop_local[:, start:start + n * n]
        tiled = maps.reshape(bsz, n, n, num_cls, h, w).permute(0, 3, 1, 4, 2, 5)
        tiled = tiled.reshape(bsz, num_cls, n * h, n * w)
        local_maps.append(F.max_pool2d(tiled, kernel_size=n, stride=n))
        global_vals.append(crop_global[:, start:start + n * n].amax(dim=1))
        start += n * n
    local_map = torch.stack(local_maps + [full_local]).mean(dim=0)
    global_term = logit_scale * torch.stack(global_vals + [full_global]).mean(0)
    return _combine(global_term, local_scores(local_map, logit_scale), mode)
