"""GATv2 (Brody et al., ICLR 2022) in plain dense torch, as used by SigRL's
graph-based multi-label correlation module (GMC).

One layer with ``K`` heads of width ``F`` on node features ``h [N, D_in]``::

    g_l = W_l h,  g_r = W_r h                        # [N, K, F]
    e[i, j, k] = a . LeakyReLU_0.2(g_l[i, k] + g_r[j, k])   (edges i <- j)
    alpha[i, :, k] = softmax_j(e[i, :, k])  over the neighbours of i
    out[i, k] = sum_j alpha[i, j, k] g_r[j, k]
    out = concat_k out[:, k]  (or mean over k)

Choices that follow the SigRL reference (labml's ``GraphAttentionV2Layer``):
no biases; one attention vector ``a`` shared by all heads; ``share_weights``
(``W_l = W_r``, on in SigRL); dropout on the attention coefficients; the
two-layer :class:`GATv2` applies dropout to its input and to the hidden
features and ELU between the layers. Where the reference's unshared variant
is inconsistent (labml scores ``g_l[j] + g_r[i]`` but aggregates ``g_r[j]``),
we follow the paper: target ``i`` through ``W_l``, source ``j`` through
``W_r`` for both the score and the message; with shared weights (SigRL) the
two agree exactly.

The attention is dense (an ``[N, N]`` adjacency, default complete): no graph
library is needed, and ``chunk_size`` bounds memory by processing target
nodes in chunks (with activation checkpointing while training), which is
exact because the softmax runs over the sources of one target.
"""
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.checkpoint import checkpoint

from granzsl_mm.registry import MODELS

__all__ = ['GATv2Layer', 'GATv2']


class GATv2Layer(nn.Module):
    """One dense GATv2 layer.

    Args:
        in_features (int): Input width ``D_in``.
        out_features (int): Output width; with ``concat`` each head has
            ``out_features // num_heads`` channels.
        num_heads (int): Heads ``K``.
        concat (bool): Concatenate the heads (else average them).
        dropout (float): Dropout on the attention coefficients.
        negative_slope (float): LeakyReLU slope of the scoring function.
        share_weights (bool): Use one matrix for targets and sources.
        chunk_size (int, optional): Target nodes per chunk (None: all).
    """

    def __init__(self,
                 in_features: int,
                 out_features: int,
                 num_heads: int = 1,
                 concat: bool = True,
                 dropout: float = 0.0,
                 negative_slope: float = 0.2,
                 share_weights: bool = True,
                 chunk_size: Optional[int] = None) -> None:
        super().__init__()
        if concat and out_features % num_heads:
            raise ValueError(f'out_features={out_features} is not divisible '
                             f'by num_heads={num_heads}')
        self.num_heads = num_heads
        self.head_dim = out_features // num_heads if concat else out_features
        self.concat = concat
        self.negative_slope = negative_slope
        self.share_weights = share_weights
        self.chunk_size = chunk_size
        width = self.head_dim * num_heads
        self.linear_l = nn.Linear(in_features, width, bias=False)
        self.linear_r = None if share_weights else nn.Linear(
            in_features, width, bias=False)
        self.attn = nn.Linear(self.head_dim, 1, bias=False)
        self.dropout = nn.Dropout(dropout)

    def _attend(self, g_target: torch.Tensor, g_source: torch.Tensor,
                adj: Optional[torch.Tensor]) -> torch.Tensor:
        # [n, N, K, F] pair features -> [n, N, K] scores -> softmax over N.
        pair = F.leaky_relu(g_target.unsqueeze(1) + g_source.unsqueeze(0),
                            self.negative_slope)
        scores = self.attn(pair).squeeze(-1)
        if adj is not None:
            scores = scores.masked_fill(~adj.unsqueeze(-1), float('-inf'))
        alpha = self.dropout(scores.softmax(dim=1))
        return torch.einsum('ijk,jkf->ikf', alpha, g_source)

    def forward(self, h: torch.Tensor,
                adj: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Attend over the graph.

        Args:
            h (torch.Tensor): ``[N, D_in]`` node features.
            adj (torch.Tensor, optional): ``[N, N]`` adjacency, ``adj[i, j]``
                true when ``j`` sends to ``i``; None: complete graph (self
                loops included).

        Returns:
            torch.Tensor: ``[N, out_features]``.
        """
        if h.dim() != 2:
            raise ValueError(f'h must be [N, D], got {tuple(h.shape)}')
        num = h.shape[0]
        if num == 0:
            raise ValueError('GATv2 needs at least one node (was an empty '
                             'label set passed?)')
        if adj is not None:
            if adj.shape != (num, num):
                raise ValueError(f'adj must be [{num}, {num}], got '
                                 f'{tuple(adj.shape)}')
            adj = adj.bool()
        g_target = self.linear_l(h).view(num, self.num_heads, self.head_dim)
        g_source = g_target if self.linear_r is None else self.linear_r(
            h).view(num, self.num_heads, self.head_dim)
        step = self.chunk_size or num
        outs = []
        for start in range(0, num, step):
            rows = slice(start, start + step)
            sub_adj = None if adj is None else adj[rows]
            if self.training and step < num and torch.is_grad_enabled():
                outs.append(checkpoint(self._attend, g_target[rows], g_source,
                                       sub_adj, use_reentrant=False))
            else:
                outs.append(self._attend(g_target[rows], g_source, sub_adj))
        out = torch.cat(outs)
        if self.concat:
            return out.reshape(num, self.num_heads * self.head_dim)
        return out.mean(dim=1)


@MODELS.register_module()
class GATv2(nn.Module):
    """Two GATv2 layers: ``in -> heads x (hidden / heads) concat -> ELU ->
    1 head -> out`` (SigRL's GMC: 512 -> 4 x 32 -> 512, dropout 0.3).

    Args:
        in_features (int): Input width.
        hidden_features (int): Width of the concatenated first layer.
        out_features (int): Output width.
        num_heads (int): Heads of the first layer.
        dropout (float): Dropout on the input, the hidden features and the
            attention coefficients.
        share_weights (bool): ``W_l = W_r`` in both layers.
        chunk_size (int, optional): Target nodes per chunk.
    """

    def __init__(self,
                 in_features: int = 512,
                 hidden_features: int = 128,
                 out_features: int = 512,
                 num_heads: int = 4,
                 dropout: float = 0.3,
                 share_weights: bool = True,
                 chunk_size: Optional[int] = None) -> None:
        super().__init__()
        self.layer1 = GATv2Layer(in_features, hidden_features, num_heads,
                                 concat=True, dropout=dropout,
                                 share_weights=share_weights,
                                 chunk_size=chunk_size)
        self.layer2 = GATv2Layer(hidden_features, out_features, 1,
                                 concat=True, dropout=dropout,
                                 share_weights=share_weights,
                                 chunk_size=chunk_size)
        self.dropout = nn.Dropout(dropout)

    def forward(self, h: torch.Tensor,
                adj: Optional[torch.Tensor] = None) -> torch.Tensor:
        """``[N, in] -> [N, out]`` (complete graph when ``adj`` is None)."""
        x = self.layer1(self.dropout(h), adj)
        x = self.dropout(F.elu(x))
        return self.layer2(x, adj)
