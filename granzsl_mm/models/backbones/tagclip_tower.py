"""TagCLIP's passes over an open_clip ViT image tower.

TagCLIP (Lin et al., AAAI 2024; ``linyq2117/TagCLIP``, ``clip/clip_model.py``
and ``clip/multi_head_attn.py``) runs CLIP's image tower in two ways:

* **the dense pass** (``encode_image_tagclip(image, h, w, attn_mask=1)``):
  every block as CLIP's, except the last, where an additive mask of -100 off
  the diagonal makes each token attend to itself only (residual and MLP
  kept); all tokens go through ``ln_post @ proj``, and the head-averaged
  attention maps of every block come back (the last block's *without* the
  mask);
* **the masked CLS pass** (``attn_mask=cls_attn`` on a 224 x 224 crop): in
  every block the CLS token's attention to the patches outside a mask gets
  -1000, so the CLS feature describes the masked region only.

The positional embedding is interpolated bilinearly (the reference's
``upsample_pos_emb``; it also rounds the result to fp16, which we do not, see
``docs/training_free_baselines.md``).
"""
from typing import List, Optional, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = ['attention_block', 'self_only_mask', 'outside_crop_mask',
           'tagclip_dense_pass', 'masked_cls_features', 'SELF_ONLY_BIAS',
           'OUTSIDE_CROP_BIAS']

# The reference's additive biases: (1 - eye) * -100 on the last block of the
# dense pass; -1000 on the CLS row for patches outside the crop's mask.
SELF_ONLY_BIAS = -100.0
OUTSIDE_CROP_BIAS = -1000.0


def self_only_mask(num_tokens: int) -> Tensor:
    """``[N, N]`` additive mask: 0 on the diagonal, -100 elsewhere."""
    return (1 - torch.eye(num_tokens)) * SELF_ONLY_BIAS


def outside_crop_mask(keep: Tensor) -> Tensor:
    """``[1 + P, 1 + P]`` additive mask: the CLS row gets -1000 where the
    patch is not kept; every other row is free.

    Args:
        keep: ``[P]`` bool, the patches the CLS token may attend to.

    Returns:
        Tensor: The mask (float32).
    """
    mask = torch.zeros(keep.numel() + 1, keep.numel() + 1)
    mask[0, 1:][~keep.reshape(-1).cpu()] = OUTSIDE_CROP_BIAS
    return mask


def attention_block(block: nn.Module, x: Tensor,
                    attn_mask: Optional[Tensor] = None) -> Tuple[Tensor, Tensor]:
    """One open_clip residual block, returning its attention map too.

    ``x + attn(ln_1(x)) -> + mlp(ln_2(.))`` with ``nn.MultiheadAttention``'s
    packed projections; ``attn_mask`` is added to the attention logits of
    every head. The map returned is the head average of the softmax
    *without* the mask, as the reference returns it.

    Args:
        block: An open_clip ``ResidualAttentionBlock`` (batch first).
        x: ``[B, N, W]`` tokens.
        attn_mask: Optional ``[N, N]`` additive mask.

    Returns:
        tuple: ``(tokens [B, N, W], attention [B, N, N])``.
    """
    attn = block.attn
    y = block.ln_1(x)
    q, k, v = F.linear(y, attn.in_proj_weight, attn.in_proj_bias).chunk(3, -1)
    batch, num, width = q.shape
    heads = attn.num_heads
    dim = width // heads

    def split(t: Tensor) -> Tensor:
        return t.reshape(batch, num, heads, dim).transpose(1, 2)

    q, k, v = split(q) * dim ** -0.5, split(k), split(v)
    logits = q @ k.transpose(-2, -1)
    weights = logits.softmax(dim=-1)
    if attn_mask is not None:
        used = (logits + attn_mask.to(logits)).softmax(dim=-1)
    else:
        used = weights
    out = (used @ v).transpose(1, 2).reshape(batch, num, width)
    x = x + block.ls_1(attn.out_proj(out))
    x = x + block.ls_2(block.mlp(block.ln_2(x)))
    return x, weights.mean(dim=1)


def tagclip_dense_pass(backbone: nn.Module,
                       images: Tensor) -> Tuple[Tensor, Tensor]:
    """TagCLIP's dense pass: projected tokens and every block's attention.

    Args:
        backbone: An ``OpenCLIPBackbone`` (a ViT tower with CLS pooling).
        images: ``[B, 3, H, W]``, multiples of the patch size.

    Returns:
        tuple: ``(tokens [B, 1 + P, D]`` after ``ln_post @ proj``, CLS
        first, un-normalised; ``attention [B, L, 1 + P, 1 + P])``.
    """
    x = backbone.forward_tokens(images, stop=0, pos_mode='bilinear')
    blocks = backbone.clip.visual.transformer.resblocks
    maps: List[Tensor] = []
    for index, block in enumerate(blocks):
        mask = self_only_mask(x.shape[1]) if index == len(blocks) - 1 \
            else None
        x, weights = attention_block(block, x, mask)
        maps.append(weights)
    return backbone.project_tokens(x), torch.stack(maps, dim=1)


def masked_cls_features(backbone: nn.Module, images: Tensor,
                        keep: Tensor) -> Tensor:
    """TagCLIP's masked CLS pass (its class-wise reweighting crop).

    Args:
        backbone: An ``OpenCLIPBackbone``.
        images: ``[B, 3, S, S]`` crops at the tower's native size.
        keep: ``[P]`` bool, the patches the CLS token may see (all blocks).

    Returns:
        Tensor: ``[B, D]`` CLS features after ``ln_post @ proj``.
    """
    x = backbone.forward_tokens(images, stop=0, pos_mode='bilinear')
    mask = outside_crop_mask(keep)
    for block in backbone.clip.visual.transformer.resblocks:
        x, _ = attention_block(block, x, mask)
    return backbone.project_tokens(x[:, 0])
