"""SigRL's local head (ICME 2025): GMC, semantic decoupling, bridging and
semantic visual feature reconstruction (SVFR).

With patch embeddings ``X [B, P, D]`` and label embeddings ``L [C, D]``:

1. **GMC** (graph-based multi-label correlation): ``G = GATv2(L)`` on the
   complete graph over the labels of the scored set (:class:`GATv2`).
2. **Semantic decoupling**: one feature per label,
   ``A[b,p,c] = softmax_p(fc(tanh(X[b,p] ⊙ L[c])))`` (per channel, over the
   positions), ``S[b,c] = sum_p A[b,p,c] ⊙ X[b,p]``.
3. **Bridging** of visual and label features:
   ``M[b] = normalize_rows(ReLU(S[b]ᵀ L))`` (``[D, D]``), ``S'[b] = S[b] M[b]``.
4. **SVFR**: label-guided queries ``Q[b,c] = fc1([S'[b,c] ; G[c]])``
   (``2D -> D``, no bias), label-guided spatial attention
   ``A'[b,p,c] = softmax_p(fc(tanh(X[b,p] ⊙ Q[b,c])))`` and the reconstructed
   tokens ``R[b,p] = sum_c A'[b,p,c] ⊙ X[b,p]`` (sum over labels).
5. Local score: mean of the top-k over positions of ``R @ Lᵀ`` (as MKT, with
   the raw label embeddings).

Documented choices (the released SigRL code: the open-vocabulary branch's
semantic decoupling is ``OV/models/SDA.py``, ``SemanticDecoupling``, the
same file as ``SPML/models/SDA.py``; ours matches it to 8e-8 on random
inputs; its graph-layer import does not run as published, so the GMC
follows the paper):

* The reference divides ``Sᵀ L`` by the Frobenius norms of the whole batch
  tensors before ReLU and the row normalisation; a positive scalar cancels
  exactly in ``normalize(ReLU(x / k))``, so it is left out.
* ``fc`` of the decoupling and of SVFR are ``D -> D`` with bias, ``fc1`` of
  SVFR ``2D -> D`` without bias (the reference's ``fc3`` / ``fc1``).
* ``chunk_size`` processes the labels in chunks (with activation
  checkpointing while training): the ``[B, P, C, D]`` attention of both
  modules never exists whole (batch 32 x 196 patches x 925 labels x 512 is
  12 GB per fp32 tensor). The result is the same as the unchunked one.
"""
from typing import Callable, Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.checkpoint import checkpoint

from granzsl_mm.registry import MODELS

__all__ = ['SemanticDecoupling', 'SemanticVisualReconstruction', 'SigRLHead',
           'bridge_features']


def _label_attention(fc: nn.Linear, patches: torch.Tensor,
                     queries: torch.Tensor) -> torch.Tensor:
    """``softmax_p(fc(tanh(X[b,p] ⊙ Q[b,c])))`` -> ``[B, P, c, D]``.

    ``queries`` is ``[c, D]`` (shared by the batch) or ``[B, c, D]``.
    """
    if queries.dim() == 2:
        queries = queries.unsqueeze(0)
    logits = fc(torch.tanh(patches.unsqueeze(2) * queries.unsqueeze(1)))
    return logits.softmax(dim=1)


def _chunked(fn: Callable, num: int, chunk_size: Optional[int],
             training: bool, *args) -> list:
    """Run ``fn(start, stop, *args)`` over label chunks (checkpointed while
    training with gradients)."""
    step = chunk_size or num
    outs = []
    for start in range(0, num, step):
        stop = min(start + step, num)
        if training and step < num and torch.is_grad_enabled():
            outs.append(checkpoint(fn, start, stop, *args,
                                   use_reentrant=False))
        else:
            outs.append(fn(start, stop, *args))
    return outs


@MODELS.register_module()
class SemanticDecoupling(nn.Module):
    """Label-specific features pooled from the patch tokens.

    Args:
        dim (int): Embedding width ``D``.
        chunk_size (int, optional): Labels per chunk.
    """

    def __init__(self, dim: int = 512,
                 chunk_size: Optional[int] = None) -> None:
        super().__init__()
        self.fc = nn.Linear(dim, dim)
        self.chunk_size = chunk_size

    def _chunk(self, start: int, stop: int, patches: torch.Tensor,
               labels: torch.Tensor) -> torch.Tensor:
        attn = _label_attention(self.fc, patches, labels[start:stop])
        return (attn * patches.unsqueeze(2)).sum(dim=1)

    def forward(self, patches: torch.Tensor,
                labels: torch.Tensor) -> torch.Tensor:
        """``[B, P, D]``, ``[C, D]`` -> ``[B, C, D]``."""
        outs = _chunked(self._chunk, labels.shape[0], self.chunk_size,
                        self.training, patches, labels)
        return torch.cat(outs, dim=1)


@MODELS.register_module()
class SemanticVisualReconstruction(nn.Module):
    """SVFR: patch tokens reconstructed under label-guided attention.

    Args:
        dim (int): Embedding width ``D``.
        query_dim (int): Width of the label-guided queries (``2D``).
        chunk_size (int, optional): Labels per chunk.
    """

    def __init__(self, dim: int = 512, query_dim: int = 1024,
                 chunk_size: Optional[int] = None) -> None:
        super().__init__()
        self.fc1 = nn.Linear(query_dim, dim, bias=False)
        self.fc = nn.Linear(dim, dim)
        self.chunk_size = chunk_size

    def _chunk(self, start: int, stop: int, patches: torch.Tensor,
               queries: torch.Tensor) -> torch.Tensor:
        attn = _label_attention(self.fc, patches, queries[:, start:stop])
        return attn.sum(dim=2)

    def forward(self, patches: torch.Tensor,
                queries: torch.Tensor) -> torch.Tensor:
        """``[B, P, D]``, ``[B, C, query_dim]`` -> ``[B, P, D]``."""
        queries = self.fc1(queries)
        outs = _chunked(self._chunk, queries.shape[1], self.chunk_size,
                        self.training, patches, queries)
        return patches * torch.stack(outs).sum(dim=0)


def bridge_features(semantic: torch.Tensor,
                    labels: torch.Tensor) -> torch.Tensor:
    """``S M`` with ``M = normalize_rows(ReLU(Sᵀ L))`` per image.

    Args:
        semantic (torch.Tensor): ``[B, C, D]`` label-specific features.
        labels (torch.Tensor): ``[C, D]`` label embeddings.

    Returns:
        torch.Tensor: ``[B, C, D]``.
    """
    mixing = F.normalize(F.relu(semantic.transpose(1, 2) @ labels), dim=-1)
    return semantic @ mixing


@MODELS.register_module()
class SigRLHead(nn.Module):
    """GMC + semantic decoupling + bridging + SVFR -> local scores.

    Args:
        dim (int): Embedding width ``D`` (512 for ViT-B/16).
        gmc (dict): ``GATv2`` config (``in_features``/``out_features``
            default to ``dim``).
        topk (int): Positions averaged by the local score.
        chunk_size (int, optional): Labels per chunk in the decoupling and
            SVFR modules.
    """

    def __init__(self, dim: int = 512, gmc: Optional[dict] = None,
                 topk: int = 16, chunk_size: Optional[int] = None) -> None:
        super().__init__()
        gmc = dict(gmc or dict(type='GATv2'))
        gmc.setdefault('in_features', dim)
        gmc.setdefault('out_features', dim)
        self.gmc = MODELS.build(gmc)
        self.decoupling = SemanticDecoupling(dim, chunk_size)
        self.svfr = SemanticVisualReconstruction(dim, 2 * dim, chunk_size)
        self.topk = int(topk)

    def reconstruct(self, patches: torch.Tensor,
                    labels: torch.Tensor) -> torch.Tensor:
        """The SVFR-reconstructed patch tokens ``[B, P, D]``."""
        if labels.dim() != 2 or labels.shape[0] == 0:
            raise ValueError('SigRLHead needs a non-empty [C, D] label set, '
                             f'got {tuple(labels.shape)}')
        graph = self.gmc(labels)
        bridged = bridge_features(self.decoupling(patches, labels), labels)
        queries = torch.cat(
            [bridged, graph.unsqueeze(0).expand(bridged.shape[0], -1, -1)],
            dim=-1)
        return self.svfr(patches, queries)

    def forward(self, patches: torch.Tensor,
                labels: torch.Tensor) -> torch.Tensor:
        """Local scores ``[B, C]`` of the labels ``[C, D]``."""
        recon = self.reconstruct(patches, labels)
        if self.topk > recon.shape[1]:
            raise ValueError(f'topk={self.topk} exceeds the {recon.shape[1]} '
                             'patch tokens of the image')
        return (recon @ labels.t()).topk(self.topk, dim=1).values.mean(dim=1)
