"""TagCLIP's training-free local-to-global scores (a zero-shot score mode).

TagCLIP (Lin et al., AAAI 2024; ``linyq2117/TagCLIP``, ``classify.py``)
scores an image's labels without training, from CLIP's dense features:

1. **coarse**: each patch's softmax over the words (the classes and some
   background words) of ``s * cos(patch, word)``, the patches taken from the
   dense pass whose last block attends to itself only
   (:func:`~granzsl_mm.models.backbones.tagclip_tower.tagclip_dense_pass`);
2. **attention refinement**: the coarse maps are smoothed by the mean
   patch-to-patch attention of blocks ``[2L/3, L-1)`` (8..10 of ViT-B/16),
   kept only where at least ``L/3`` blocks (4) attend above their mean;
3. **box refinement**: per word, the attention is restricted to the boxes
   of the regions of its refined map above the map's mean;
4. **global scores**: the maximum over the patches, per class;
5. **class-wise reweighting**: for each class above half of the score range,
   the box of its patches above half of its map is cut out, resized to the
   tower's size and encoded with the CLS token seeing the masked patches
   only; the class's score becomes the mean of step 4's and this crop's
   softmax score.

The functions follow the reference line by line (its quirks included: the
boxes stop one patch short of the right and bottom borders; the
reweighting stops at the first class whose box is empty); differences are
listed in ``docs/training_free_baselines.md``.
"""
from typing import Optional, Sequence, Tuple, Union

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from granzsl_mm.structures.class_lists import BACKGROUND_WORDS

from ..backbones.tagclip_tower import masked_cls_features, tagclip_dense_pass

__all__ = ['attention_affinity', 'region_boxes', 'box_refine',
           'class_wise_reweight', 'tagclip_image_scores', 'TagCLIPScorer']


def attention_affinity(maps: Tensor, layers: Optional[Sequence[int]] = None,
                       min_votes: Optional[int] = None) -> Tensor:
    """Patch-to-patch affinity from the blocks' attention maps (step 2).

    Args:
        maps: ``[L, P, P]`` patch-to-patch attention (CLS row / column
            dropped) of one image, every block.
        layers: ``(start, stop)`` of the blocks averaged (default
            ``(2L // 3, L - 1)``: 8..10 of 12; at least one block).
        min_votes: Blocks that must attend above their mean (default
            ``L // 3``: 4 of 12).

    Returns:
        Tensor: ``[P, P]``.
    """
    num = maps.shape[0]
    if layers is None:
        stop = max(num - 1, 1)
        layers = (min(2 * num // 3, stop - 1), stop)
    start, stop = (int(i) for i in layers)
    if not 0 <= start < stop <= num:
        raise ValueError(f'tagclip layers {tuple(layers)} select no block '
                         f'of {num}')
    votes = num // 3 if min_votes is None else int(min_votes)
    mean = maps.reshape(num, -1).mean(dim=-1).reshape(num, 1, 1)
    count = (maps > mean).float().sum(dim=0) >= votes
    return maps[start:stop].mean(dim=0) * count.float()


def region_boxes(score_map: np.ndarray, threshold: Union[float, Tensor]
                 ) -> Sequence[Tuple[int, int, int, int]]:
    """Boxes of the regions of a [0, 1] map above a threshold (step 3).

    The reference's ``scoremap2bbox(..., multi_contour_eval=True)``: the map
    as ``uint8(255 * map)``, OpenCV's binary threshold at
    ``int(threshold * max)``, the outer contours and their bounding boxes,
    the right / bottom edges clipped to ``size - 1``.

    Args:
        score_map: ``[h, w]`` float map in [0, 1].
        threshold: Relative threshold (a float32 tensor in the reference:
            ``int(threshold * 255)`` is computed in its precision).

    Returns:
        list: ``(x0, y0, x1, y1)`` per region; ``[(0, 0, 0, 0)]`` when none.
    """
    import cv2
    height, width = score_map.shape
    image = np.expand_dims((score_map * 255).astype(np.uint8), 2)
    _, binary = cv2.threshold(src=image,
                              thresh=int(threshold * np.max(image)),
                              maxval=255, type=cv2.THRESH_BINARY)
    contours = cv2.findContours(image=binary, mode=cv2.RETR_EXTERNAL,
                                method=cv2.CHAIN_APPROX_SIMPLE)[-2]
    if len(contours) == 0:
        return [(0, 0, 0, 0)]
    boxes = []
    for contour in contours:
        x, y, w, h = cv2.boundingRect(contour)
        boxes.append((x, y, min(x + w, width - 1), min(y + h, height - 1)))
    return boxes


def _unit_range(column: Tensor) -> Tensor:
    column = column - column.min()
    return column / column.max()


def box_refine(coarse: Tensor, refined: Tensor, grid: Tuple[int, int],
               affinity: Tensor) -> Tensor:
    """Restrict each word's affinity to the boxes of its map (step 3).

    Args:
        coarse: ``[P, C]`` per-patch softmax scores (step 1).
        refined: ``[P, C]`` ``affinity @ coarse`` (step 2).
        grid: ``(h, w)`` patch grid.
        affinity: ``[P, P]``.

    Returns:
        Tensor: ``[P, C]``.
    """
    out = refined.clone()
    for word in torch.nonzero(refined.max(dim=0)[0] > 0).flatten().tolist():
        column = _unit_range(refined[:, word])
        box_mask = torch.zeros(grid, device=refined.device)
        for x0, y0, x1, y1 in region_boxes(
                column.reshape(grid).detach().cpu().numpy(),
                column.mean().cpu()):
            box_mask[y0:y1, x0:x1] = 1
        out[:, word] = (affinity * box_mask.reshape(1, -1)) @ coarse[:, word]
    return out


def _half_box(column: Tensor, grid: Tuple[int, int]
              ) -> Tuple[Tensor, int, int, int, int]:
    """Patches above half of a [0, 1] map and their box, reference-clipped."""
    mask = (_unit_range(column) > 0.5).reshape(grid)
    cols = np.where(np.any(mask.cpu().numpy(), axis=0))[0]
    rows = np.where(np.any(mask.cpu().numpy(), axis=1))[0]
    if cols.shape[0]:
        x1, x2 = int(cols[0]), int(cols[-1]) + 1
        y1, y2 = int(rows[0]), int(rows[-1]) + 1
    else:
        x1 = x2 = y1 = y2 = 0
    y2 = min(y2, grid[0] - 1)
    x2 = min(x2, grid[1] - 1)
    return mask, max(y1, 0), y2, max(x1, 0), x2


def class_wise_reweight(backbone: nn.Module, image: Tensor, refined: Tensor,
                        top: Tensor, words: Tensor, logit_scale: float,
                        threshold: float = 0.5,
                        weight: float = 0.5) -> Tensor:
    """TagCLIP's class-wise reweighting of the global scores (step 5).

    Args:
        backbone: An ``OpenCLIPBackbone``.
        image: ``[1, 3, H, W]`` the preprocessed image.
        refined: ``[P, C]`` box-refined maps (step 3).
        top: ``[K]`` global scores of the ``K`` classes (step 4), changed in
            place and returned.
        words: ``[C, D]`` normalised word embeddings (classes first).
        logit_scale: ``s``.
        threshold: Relative threshold on ``refined``'s range (0.5).
        weight: Weight of the old score in the mean (0.5).

    Returns:
        Tensor: ``top``.
    """
    patch = backbone.patch_size
    size = backbone.clip.visual.image_size
    size = tuple(size) if isinstance(size, (tuple, list)) else (size, size)
    grid = (image.shape[-2] // patch[0], image.shape[-1] // patch[1])
    crop_grid = (size[0] // patch[0], size[1] // patch[1])
    low, high = refined.min(), refined.max()
    cut = low + threshold * (high - low)
    for cls in torch.nonzero(top > cut).flatten().tolist():
        mask, y1, y2, x1, x2 = _half_box(refined[:, cls], grid)
        if x1 == x2 or y1 == y2:
            return top  # the reference stops at the first empty box
        keep = F.interpolate(mask[y1:y2, x1:x2].float()[None, None],
                             size=crop_grid, mode='nearest').reshape(-1) > 0
        crop = image[:, :, y1 * patch[0]:y2 * patch[0],
                     x1 * patch[1]:x2 * patch[1]]
        crop = F.interpolate(crop, size=size, mode='bilinear',
                             align_corners=False)
        feat = F.normalize(masked_cls_features(backbone, crop, keep).float(),
                           dim=-1)
        probs = (logit_scale * feat @ words.t()).softmax(dim=-1)[0]
        top[cls] = weight * top[cls] + (1 - weight) * probs[cls]
    return top


def tagclip_image_scores(backbone: nn.Module, image: Tensor, words: Tensor,
                         num_classes: int, logit_scale: float,
                         layers: Optional[Sequence[int]] = None,
                         min_votes: Optional[int] = None,
                         reweight: bool = True) -> Tensor:
    """TagCLIP's scores of one image.

    Args:
        backbone: An ``OpenCLIPBackbone`` (ViT with CLS pooling).
        image: ``[1, 3, H, W]`` preprocessed, multiples of the patch size.
        words: ``[C, D]`` normalised embeddings: the ``num_classes``
            classes, then the background words.
        num_classes: ``K``, the classes scored.
        logit_scale: ``s`` (CLIP's learned temperature in the reference).
        layers: See :func:`attention_affinity`.
        min_votes: See :func:`attention_affinity`.
        reweight: Run step 5 (class-wise reweighting).

    Returns:
        Tensor: ``[K]`` scores in [0, 1] (float32).
    """
    patch = backbone.patch_size
    grid = (image.shape[-2] // patch[0], image.shape[-1] // patch[1])
    tokens, maps = tagclip_dense_pass(backbone, image)
    feats = F.normalize(tokens[0].float(), dim=-1)
    words = words.to(feats)
    affinity = attention_affinity(maps[0, :, 1:, 1:].float(), layers,
                                  min_votes)
    coarse = (logit_scale * feats[1:] @ words.t()).softmax(dim=-1)
    refined = box_refine(coarse, affinity @ coarse, grid, affinity)
    top = refined.max(dim=0)[0][:num_classes].clone()
    if reweight:
        top = class_wise_reweight(backbone, image, refined, top, words,
                                  logit_scale)
    return top


class TagCLIPScorer:
    """TagCLIP's settings, used by ``ZeroShotMultiLabelClassifier``
    (``score_mode='tagclip'``).

    Args:
        background: Background words: a key of
            :data:`~granzsl_mm.structures.class_lists.BACKGROUND_WORDS`
            (``'coco'``, ``'voc'``, ``'none'``) or a list of words.
        layers: ``(start, stop)`` blocks of the affinity (default
            ``(2L // 3, L - 1)``).
        min_votes: Blocks voting for an affinity (default ``L // 3``).
        reweight: Class-wise reweighting (step 5).
    """

    def __init__(self, background='coco',
                 layers: Optional[Sequence[int]] = None,
                 min_votes: Optional[int] = None,
                 reweight: bool = True) -> None:
        if isinstance(background, str):
            if background not in BACKGROUND_WORDS:
                raise ValueError(f'tagclip.background must be one of '
                                 f'{list(BACKGROUND_WORDS)} or a list of '
                                 f'words, got {background!r}')
            background = BACKGROUND_WORDS[background]
        self.background = list(background)
        self.layers = tuple(layers) if layers is not None else None
        self.min_votes = min_votes
        self.reweight = bool(reweight)

    def scores(self, backbone: nn.Module, images: Tensor, classes: Tensor,
               background: Tensor, logit_scale: float) -> Tensor:
        """``[B, K]`` scores, one image at a time.

        Args:
            backbone: An ``OpenCLIPBackbone``.
            images: ``[B, 3, H, W]``.
            classes: ``[K, D]`` normalised class embeddings.
            background: ``[G, D]`` normalised background-word embeddings.
            logit_scale: ``s``.
        """
        if not hasattr(backbone, 'forward_tokens') or getattr(
                backbone, 'is_resnet', False):
            raise TypeError("score_mode='tagclip' needs an OpenCLIPBackbone "
                            '(a ViT tower with CLS pooling)')
        words = torch.cat([classes.float(), background.float().to(
            classes.device)], dim=0).to(images.device)
        return torch.stack([
            tagclip_image_scores(backbone, images[i:i + 1], words,
                                 len(classes), logit_scale, self.layers,
                                 self.min_votes, self.reweight)
            for i in range(len(images))])
