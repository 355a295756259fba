"""VLPL's CLIP pseudo-labels (Xing et al., "Vision-Language Pseudo-Labels for
Single-Positive Multi-Label Learning", 2024), as a pure torch function.

Per image, the class similarity is ``softmax(cos(image, class_text) / T)``
over the classes (T = 0.01); a class whose similarity exceeds the threshold
(0.3) is a positive pseudo-label and the ``floor(rho * C)`` classes of lowest
similarity are negative pseudo-labels (negatives written last, as in the
reference). The result is a soft-target vector (NaN = no pseudo-label) for
:func:`~granzsl_mm.models.losses.spml_loss` ``mode='em_pl'`` (VLPL's EM_PL).
"""
from typing import Tuple

import torch
import torch.nn.functional as F

__all__ = ['clip_class_similarity', 'clip_pseudo_labels']


def clip_class_similarity(image_feats: torch.Tensor,
                          text_feats: torch.Tensor,
                          temperature: float = 0.01) -> torch.Tensor:
    """``softmax(cos / T)`` over classes.

    Args:
        image_feats (torch.Tensor): ``[N, D]`` image embeddings.
        text_feats (torch.Tensor): ``[C, D]`` class text embeddings.
        temperature (float): Softmax temperature ``T`` (> 0).

    Returns:
        torch.Tensor: ``[N, C]``, each row sums to 1.
    """
    if temperature <= 0:
        raise ValueError(f'temperature must be > 0, got {temperature}')
    if image_feats.dim() != 2 or text_feats.dim() != 2 or \
            image_feats.shape[1] != text_feats.shape[1]:
        raise ValueError(f'expected [N, D] and [C, D] features, got '
                         f'{tuple(image_feats.shape)} and '
                         f'{tuple(text_feats.shape)}')
    cos = F.normalize(image_feats.float(), dim=-1) @ F.normalize(
        text_feats.float(), dim=-1).t()
    return torch.softmax(cos / temperature, dim=-1)


def clip_pseudo_labels(image_feats: torch.Tensor,
                       text_feats: torch.Tensor,
                       temperature: float = 0.01,
                       threshold: float = 0.3,
                       rho: float = 0.0,
                       positive_target: float = 1.0,
                       negative_target: float = 0.0
                       ) -> Tuple[torch.Tensor, torch.Tensor]:
    """Soft pseudo-label targets from CLIP features.

    Args:
        image_feats (torch.Tensor): ``[N, D]`` image embeddings.
        text_feats (torch.Tensor): ``[C, D]`` class text embeddings.
        temperature (float): Softmax temperature ``T``.
        threshold (float): Similarity above which a class is a positive
            pseudo-label.
        rho (float): Fraction of classes (lowest similarity) taken as
            negative pseudo-labels; ``floor(rho * C)`` per image.
        positive_target (float): Soft target of a positive pseudo-label.
        negative_target (float): Soft target of a negative pseudo-label.

    Returns:
        tuple: ``soft_targets [N, C]`` (NaN where none) and the similarity
        ``[N, C]``.
    """
    if not 0 <= rho <= 1:
        raise ValueError(f'rho must be in [0, 1], got {rho}')
    sim = clip_class_similarity(image_feats, text_feats, temperature)
    soft = torch.full_like(sim, float('nan'))
    soft[sim > threshold] = positive_target
    num_neg = int(rho * sim.shape[1])
    if num_neg > 0:
        lowest = torch.topk(sim, num_neg, dim=1, largest=False).indices
        soft.scatter_(1, lowest, negative_target)
    return soft, sim
