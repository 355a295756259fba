"""Compute and cache VLPL-style CLIP pseudo-labels for an SPML training set.

Runs a CLIP image tower over every image of a dataset once, scores it
against the class-name prompts (:func:`granzsl_mm.models.pseudo_labels.
clip_pseudo_labels`) and writes the file that
:class:`~granzsl_mm.datasets.SPMLDataset` reads (``pseudo_label_file``).
The reference (VLPL) recomputes them with the frozen CLIP at every step;
a frozen CLIP gives the same values, so one pass and a cache suffice (the
images go through the test pipeline: no random augmentation).
"""
from typing import Optional, Sequence, Union

import numpy as np
import torch
from mmengine.dataset import pseudo_collate
from torch.utils.data import DataLoader

from granzsl_mm.datasets.spml.pseudo_label_file import (
    pseudo_label_key,
    save_pseudo_labels,
)
from granzsl_mm.models.pseudo_labels import clip_pseudo_labels
from granzsl_mm.models.text.templates import get_templates

__all__ = ['generate_pseudo_labels']


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
            :func:`~granzsl_mm.models.pseudo_labels.clip_pseudo_labels`.
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
