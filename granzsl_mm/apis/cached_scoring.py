"""Score a vocabulary from a feature cache (no image tower at all).

Cosines between the cached image features and class embeddings, pooled like
:meth:`GranZSL.predict` without snippets, and the ZSL / GZSL metrics of these
scores. The logit scale ``s`` is a required argument (GranZSL's configs use
20; pass ``model.logit_scale``).
"""
from typing import Optional

import numpy as np
import torch
import torch.nn.functional as F

from granzsl_mm.models.tta.snippets import image_scores

from .feature_store import FeatureCache

__all__ = ['cached_scores', 'iter_cached_scores', 'evaluate_cached']


@torch.no_grad()
def iter_cached_scores(cache: FeatureCache,
                       class_embeddings: torch.Tensor,
                       logit_scale: float,
                       score_mode: str = 'both',
                       chunk_size: int = 1024):
    """Yield ``(start, scores [n, C])`` chunks of :func:`cached_scores`
    (bounded memory: Open Images' 125,456 x 7,586 scores are 3.8 GB)."""
    if not cache.complete:
        raise ValueError(f'feature cache {cache.root!r} is incomplete '
                         f'({len(cache.missing())} rows missing); rerun the '
                         'extraction to resume it')
    if score_mode != 'global' and cache.dense_feats is None:
        raise ValueError(f'score_mode={score_mode!r} needs dense features; '
                         "extract with dense=True or use score_mode='global'")
    names = F.normalize(class_embeddings.detach().float().cpu(), dim=-1)
    if names.shape[-1] != cache.meta['embed_dim']:
        raise ValueError(f'class embeddings have dim {names.shape[-1]}, the '
                         f'cache {cache.meta["embed_dim"]}')
    for start in range(0, len(cache), chunk_size):
        stop = min(start + chunk_size, len(cache))
        glob = torch.from_numpy(np.array(
            cache.global_feats[start:stop], dtype=np.float32))
        glob_cos = F.normalize(glob, dim=-1) @ names.t()
        if score_mode == 'global':
            yield start, logit_scale * glob_cos
            continue
        dense = torch.from_numpy(np.array(
            cache.dense_feats[start:stop], dtype=np.float32))
        local = (F.normalize(dense, dim=-1) @ names.t()).transpose(1, 2)
        yield start, image_scores(local, glob_cos, logit_scale, score_mode)


@torch.no_grad()
def cached_scores(cache: FeatureCache,
                  class_embeddings: torch.Tensor,
                  logit_scale: float,
                  score_mode: str = 'both',
                  chunk_size: int = 1024) -> torch.Tensor:
    """Scores of all cached images against class embeddings.

    The same computation as :meth:`GranZSL.predict` without snippets:
    cosine of the normalised global feature (and of each dense position)
    with the normalised class embeddings, pooled by
    :func:`~granzsl_mm.models.tta.image_scores`. Computed in float32, in
    chunks of images (the cache stays memory-mapped).

    Args:
        cache (FeatureCache): A complete cache.
        class_embeddings (torch.Tensor): ``[C, D]`` (e.g.
            ``model.class_name_embeddings()[model.label_indices]``, or
            prompt embeddings of any vocabulary).
        logit_scale (float): ``s``.
        score_mode (str): ``'both'``, ``'global'`` or ``'local'``.
        chunk_size (int): Images per chunk.

    Returns:
        torch.Tensor: ``[N, C]`` float32 scores.
    """
    out = [s for _, s in iter_cached_scores(cache, class_embeddings,
                                            logit_scale, score_mode,
                                            chunk_size)]
    if not out:
        return torch.zeros(0, class_embeddings.shape[0])
    return torch.cat(out)


def evaluate_cached(cache: FeatureCache,
                    class_embeddings: torch.Tensor,
                    dataset_meta: dict,
                    metric: Optional[dict] = None,
                    *,
                    logit_scale: float,
                    score_mode: str = 'both') -> dict:
    """ZSL / GZSL metrics of a vocabulary scored from the cache.

    Args:
        cache (FeatureCache): A complete cache with ``gt_score``.
        class_embeddings (torch.Tensor): ``[C, D]`` embeddings of all
            classes of ``dataset_meta`` (seen then unseen).
        dataset_meta (dict): ``classes``, ``seen_classes``, ...
        metric (dict, optional): ``ZSLMultiLabelMetric`` config (defaults to
            ``dict(type='ZSLMultiLabelMetric')``); at Open Images scale
            ``dict(type='StreamingZSLMultiLabelMetric')`` (the scores are
            fed in chunks, with ``sample_idx``, never held whole).
        logit_scale (float): ``s`` (keyword-only).
        score_mode (str): ``'both'``, ``'global'`` or ``'local'``.

    Returns:
        dict: The metric's results (``zsl/mAP``, ``gzsl/F1@3``, ...).
    """
    from granzsl_mm.registry import METRICS
    if cache.gt_score is None:
        raise ValueError('the cache holds no gt_score; extract it from a '
                         'dataset with labels')
    evaluator = METRICS.build(metric or dict(type='ZSLMultiLabelMetric'))
    evaluator.dataset_meta = dataset_meta
    for start, scores in iter_cached_scores(cache, class_embeddings,
                                            logit_scale, score_mode):
        gt = torch.from_numpy(np.array(
            cache.gt_score[start:start + len(scores)]))
        evaluator.process(None, [
            dict(pred_score=s, gt_score=g, sample_idx=start + i)
            for i, (s, g) in enumerate(zip(scores, gt))])
    return evaluator.evaluate(len(cache))
