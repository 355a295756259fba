"""VLPL's CLIP pseudo-labels for an SPML training set: the rule and one pass.

Xing et al., "Vision-Language Pseudo-Labels for Single-Positive Multi-Label
Learning" (2024). Per image, the class similarity is
``softmax(cos(image, class_text) / T)`` over the classes (T = 0.01); a class
whose similarity exceeds the threshold (0.3) is a positive pseudo-label and
the ``floor(rho * C)`` classes of lowest similarity are negative pseudo-labels
(negatives written last, as in the reference). The result is a soft-target
vector (NaN = no pseudo-label) for :func:`~granzsl_mm.models.losses.spml_loss`
``mode='em_pl'`` (VLPL's EM_PL).

:func:`generate_pseudo_labels` runs a CLIP image tower over every image of a
dataset once, scores it against the class-name prompts and writes the file
that :class:`~granzsl_mm.datasets.SPMLDataset` reads (``pseudo_label_file``,
:mod:`granzsl_mm.datasets.spml.pseudo_label_file`). The reference recomputes
them with the frozen CLIP at every step; a frozen CLIP gives the same values,
so one pass and a cache suffice (the images go through the test pipeline: no
random augmentation).
"""
from typing import Optional, Sequence, Tuple, Union

import numpy as np
import torch
import torch.nn.functional as F
from mmengine.dataset import pseudo_collate
from torch.utils.data import DataLoader

from granzsl_mm.datasets.spml.pseudo_label_file import (
    pseudo_label_key,
    save_pseudo_labels,
)
from granzsl_mm.structures.prompts import get_templates

__all__ = ['clip_class_similarity', 'clip_pseudo_labels', 'generate_pseudo_labels']


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


@torch.no_grad()
def generate_pseudo_labels(dataset,
                           backbone: torch.nn.Module,
                           text_encoder: torch.nn.Module,
                           data_preprocessor: torch.nn.Module,
                           out_file: str,
                           templates: Union[str, Sequence[str]] = 'single',
                           temperature: float = 0.01,
                           threshold: float = 0.3,
                           rho: float = 0.0,
                           positive_target: float = 1.0,
                           negative_target: float = 0.0,
                           batch_size: int = 32,
                           num_workers: int = 0,
                           meta: Optional[dict] = None) -> dict:
    """Write the pseudo-label file of ``dataset``.

    Args:
        dataset: A dataset whose pipeline yields packed images (e.g. the
            ``SPMLDataset`` training split with a CLIP test pipeline); its
            ``metainfo['classes']`` names the classes.
        backbone: CLIP image tower returning ``(global, ...)`` features
            (:class:`~granzsl_mm.models.backbones.OpenCLIPBackbone`).
        text_encoder: Its text tower with ``encode_with_templates``.
        data_preprocessor: Batches images (mean/std) for the backbone.
        out_file (str): Output ``.npz``.
        templates: Prompt templates (VLPL uses the bare class name: ``'{}'``).
        temperature, threshold, rho, positive_target, negative_target: See
            :func:`clip_pseudo_labels`.
        batch_size (int): Images per forward.
        num_workers (int): Dataloader workers.
        meta (dict, optional): Extra description stored in the file.

    Returns:
        dict: ``out_file``, ``num_images``, ``positives_per_image`` and
        ``negatives_per_image`` (means).
    """
    classes = list(dataset.metainfo['classes'])
    backbone.eval()
    text = text_encoder.encode_with_templates(classes, templates)
    root = getattr(dataset, 'source_data_root',
                   getattr(dataset, 'data_root', None))
    keys, softs, sims = [], [], []
    loader = DataLoader(dataset, batch_size=batch_size, shuffle=False,
                        num_workers=num_workers, collate_fn=pseudo_collate)
    for batch in loader:
        data = data_preprocessor(batch, False)
        feats = backbone(data['inputs'])[0]
        soft, sim = clip_pseudo_labels(
            feats, text.to(feats.device), temperature=temperature,
            threshold=threshold, rho=rho, positive_target=positive_target,
            negative_target=negative_target)
        softs.append(soft.cpu().numpy())
        sims.append(sim.cpu().numpy())
        keys += [pseudo_label_key(s.img_path, root)
                 for s in data['data_samples']]
    soft = np.concatenate(softs) if softs else np.zeros((0, len(classes)))
    sim = np.concatenate(sims) if sims else np.zeros((0, len(classes)))
    info = dict(temperature=temperature, threshold=threshold, rho=rho,
                positive_target=positive_target,
                negative_target=negative_target,
                templates=list(get_templates(templates)))
    info.update(meta or {})
    save_pseudo_labels(out_file, keys, soft, classes, similarity=sim,
                       meta=info)
    num = max(len(keys), 1)
    return dict(out_file=out_file, num_images=len(keys),
                positives_per_image=float(
                    (soft == positive_target).sum() / num),
                negatives_per_image=float(
                    (soft == negative_target).sum() / num))
