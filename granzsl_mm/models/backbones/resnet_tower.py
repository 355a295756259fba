"""CLIP's ModifiedResNet image tower: trunk, attention pool and region tokens.

open_clip's ``ModifiedResNet`` (RN50, RN101, ...) ends in an attention pool:
the feature map's mean is prepended to its positions, a positional embedding
is added, and the mean position attends to all of them. Its output is the
global image embedding. The region tokens are what DualCoOp's image encoder
(``clip/model.py: AttentionConv`` in ``sunxm2357/DualCoOp``) computes instead:
the pool's value and output projections applied at every position,
``c_proj(v_proj(x + pos))``, the mean position first. The positional
embedding is resized bicubically to the feature grid, as that encoder does for
other input sizes.
"""
from typing import Tuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = ['is_modified_resnet', 'resnet_feature_map',
           'attention_pool_tokens']


def is_modified_resnet(visual: nn.Module) -> bool:
    """Whether an open_clip image tower is a ``ModifiedResNet``.

    Args:
        visual: ``clip.visual`` of an open_clip model.

    Returns:
        bool: True for a ResNet trunk with an attention pool.
    """
    return all(hasattr(visual, n) for n in ('stem', 'layer4', 'attnpool'))


def resnet_feature_map(visual: nn.Module, images: Tensor) -> Tensor:
    """The trunk's last feature map (stem and the four stages).

    Args:
        visual: An open_clip ``ModifiedResNet``.
        images: ``[B, 3, H, W]`` in the tower's dtype.

    Returns:
        Tensor: ``[B, C, H / 32, W / 32]``.
    """
    x = visual.stem(images)
    for layer in (visual.layer1, visual.layer2, visual.layer3, visual.layer4):
        x = layer(x)
    return x


def attention_pool_tokens(attnpool: nn.Module, feature_map: Tensor,
                          pos_embed: Tensor) -> Tuple[Tensor, Tensor]:
    """Global embedding and region tokens of CLIP's attention pool.

    Args:
        attnpool: An open_clip ``AttentionPool2d``.
        feature_map: ``[B, C, h, w]`` trunk output.
        pos_embed: ``[1 + h*w, C]`` positional embedding (mean position
            first), already resized to the grid.

    Returns:
        tuple: ``global [B, D]`` (the attention output at the mean position,
        as open_clip's ``AttentionPool2d.forward``) and ``regions
        [B, 1 + h*w, D]`` (``c_proj(v_proj(.))`` at every position, the mean
        position first).
    """
    x = feature_map.flatten(2).permute(2, 0, 1)  # (hw) B C
    x = torch.cat([x.mean(dim=0, keepdim=True), x], dim=0)
    x = x + pos_embed[:, None, :].to(x.dtype)
    # only the mean position's query is kept by CLIP: ask for that row alone
    pooled, _ = F.multi_head_attention_forward(
        query=x[:1], key=x, value=x,
        embed_dim_to_check=x.shape[-1],
        num_heads=attnpool.num_heads,
        q_proj_weight=attnpool.q_proj.weight,
        k_proj_weight=attnpool.k_proj.weight,
        v_proj_weight=attnpool.v_proj.weight,
        in_proj_weight=None,
        in_proj_bias=torch.cat([attnpool.q_proj.bias, attnpool.k_proj.bias,
                                attnpool.v_proj.bias]),
        bias_k=None, bias_v=None, add_zero_attn=False, dropout_p=0.,
        out_proj_weight=attnpool.c_proj.weight,
        out_proj_bias=attnpool.c_proj.bias,
        use_separate_proj_weight=True, training=False, need_weights=False)
    regions = attnpool.c_proj(attnpool.v_proj(x))
    return pooled[0], regions.permute(1, 0, 2)
