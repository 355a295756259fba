"""Recover-and-Match's Ladder Local Adapter (LLA): regional semantics recovered.

The reference's ``clip/adapters.py::LocalAdapter`` (with its
``PFCrossAttention``), batch first. On the patch grid of a vision block's
output: two convolution streams (1x1 and 3x3, to the joint-space width,
BatchNorm, GELU), each followed by a parameter-free cross-attention of the
patches to the label embeddings of the scored label set (residual), gated by
a 2-channel convolution over the channel mean and max of both streams, and
projected back to the tower's width (1x1). The CLS token passes through
unchanged. Its output is added to the region (value-value) path of the tower
(:mod:`granzsl_mm.models.backbones.recover_match_tower`).
"""
import math

import torch
import torch.nn as nn
from torch import Tensor

__all__ = ['LadderLocalAdapter', 'parameter_free_cross_attention']


def parameter_free_cross_attention(query: Tensor, kv: Tensor,
                                   scale: float) -> Tensor:
    """``softmax(q kᵀ · scale) k``: keys and values are ``kv`` itself.

    Args:
        query: ``[B, N, D]``.
        kv: ``[M, D]`` (shared by the batch) or ``[B, M, D]``.
        scale: Multiplier of the logits (``D ** -0.5``).

    Returns:
        Tensor: ``[B, N, D]``.
    """
    attn = (query @ kv.transpose(-2, -1)) * scale
    return attn.softmax(dim=-1) @ kv


class LadderLocalAdapter(nn.Module):
    """The LLA of one vision block.

    Args:
        width (int): The vision tower's width (in and out channels).
        text_dim (int): Width of the label embeddings (the joint space); also
            the streams' width, as the reference's ``hidden_dim = text_dim``.
        kernel_size (int): Kernel of the gate convolution (the reference's
            ``KERNEL_SIZE``, 3).
    """

    def __init__(self, width: int, text_dim: int, kernel_size: int = 3
                 ) -> None:
        super().__init__()
        self.stream_1x1 = nn.Sequential(
            nn.Conv2d(width, text_dim, 1, bias=False),
            nn.BatchNorm2d(text_dim), nn.GELU())
        self.stream_3x3 = nn.Sequential(
            nn.Conv2d(width, text_dim, 3, padding=1, bias=False),
            nn.BatchNorm2d(text_dim), nn.GELU())
        self.gate = nn.Conv2d(2, 2, kernel_size, padding=kernel_size // 2,
                              bias=False)
        self.out = nn.Conv2d(text_dim, width, 1, bias=False)
        self.norm_q1 = nn.LayerNorm(text_dim)
        self.norm_q2 = nn.LayerNorm(text_dim)
        self.norm_kv = nn.LayerNorm(text_dim)
        self.scale = text_dim ** -0.5

    def forward(self, tokens: Tensor, labels: Tensor) -> Tensor:
        """Adapter output on a block's tokens.

        Args:
            tokens: ``[B, 1 + h*w, W]`` (CLS first, a square patch grid).
            labels: ``[M, D]`` label embeddings (un-normalised text features
                of the scored label set).

        Returns:
            Tensor: ``[B, 1 + h*w, W]``: the CLS token as it came, the
            adapted patches.
        """
        cls, patches = tokens[:, :1], tokens[:, 1:]
        batch, num, width = patches.shape
        side = math.isqrt(num)
        if side * side != num:
            raise ValueError(f'LadderLocalAdapter needs a square patch grid, '
                             f'got {num} patches')
        grid = patches.transpose(1, 2).reshape(batch, width, side, side)
        kv = self.norm_kv(labels)
        streams = []
        for conv, norm in ((self.stream_1x1, self.norm_q1),
                           (self.stream_3x3, self.norm_q2)):
            y = conv(grid).reshape(batch, -1, num).transpose(1, 2)
            y = y + parameter_free_cross_attention(norm(y), kv, self.scale)
            streams.append(y.transpose(1, 2).reshape(batch, -1, side, side))
        both = torch.cat(streams, dim=1)
        pooled = torch.cat([both.mean(dim=1, keepdim=True),
                            both.max(dim=1, keepdim=True).values], dim=1)
        gates = torch.sigmoid(self.gate(pooled))
        y = streams[0] * gates[:, :1] + streams[1] * gates[:, 1:]
        y = self.out(y).reshape(batch, width, num).transpose(1, 2)
        return torch.cat([cls, y.to(cls.dtype)], dim=1)
