"""Recover-and-Match's passes through a frozen open_clip CLIP.

The reference (``clip/model.py`` of ``EricTan7/RAM``) edits CLIP's modules;
here the same computations run over open_clip's unchanged modules, with the
trainable parts (adapters, tokens) passed in:

* :func:`recover_image` -- the image tower with two paths. The main path is
  CLIP's own (CLS token -> global embedding). The region path starts from the
  stem's tokens and adds, in every block, the block's value-value attention
  (:func:`value_value_attention`, on the main path's ``ln_1`` input; no MLP)
  and, in the adapted blocks, the local adapter's output on the block's main
  output. In an adapted block learnable tokens are appended to the main path
  for that block only (they take part in its attention, not in the
  value-value path). The region tokens after ``ln_post @ proj`` are the dense
  features. Without adapters or tokens this is the frozen teacher.
* :func:`encode_text_deep_prompts` -- CLIP's text tower with learnable tokens
  inserted after the start token in the prompted blocks (removed after each).
"""
from typing import Any, Mapping, Optional, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = ['value_value_attention', 'recover_image',
           'encode_text_deep_prompts']


def value_value_attention(block: nn.Module, y: Tensor,
                          num_tokens: Optional[int] = None) -> Tensor:
    """``out_proj(softmax(v vᵀ · d^-0.5) v)`` per head.

    Args:
        block: An open_clip ``ResidualAttentionBlock``.
        y: ``[B, N', W]`` the block's ``ln_1`` output.
        num_tokens: Use only the first ``num_tokens`` values (the appended
            learnable tokens are left out); None: all.

    Returns:
        Tensor: ``[B, num_tokens, W]``.
    """
    attn = block.attn
    width = y.shape[-1]
    v = F.linear(y, attn.in_proj_weight[2 * width:],
                 attn.in_proj_bias[2 * width:])
    if num_tokens is not None:
        v = v[:, :num_tokens]
    batch, num, _ = v.shape
    heads = attn.num_heads
    v = v.reshape(batch, num, heads, width // heads).transpose(1, 2)
    out = F.scaled_dot_product_attention(v, v, v)  # scale = d^-0.5
    return attn.out_proj(out.transpose(1, 2).reshape(batch, num, width))


def recover_image(backbone: Any, images: Tensor,
                  labels: Optional[Tensor] = None,
                  adapters: Optional[Mapping[int, nn.Module]] = None,
                  tokens: Optional[Mapping[int, Tensor]] = None
                  ) -> Tuple[Tensor, Tensor]:
    """Global and recovered region features of a batch.

    Args:
        backbone: An ``OpenCLIPBackbone`` (ViT).
        images: ``[B, 3, H, W]``.
        labels: ``[M, D]`` label embeddings the adapters attend to.
        adapters: Block index -> local adapter (``LadderLocalAdapter``).
        tokens: Block index -> ``[n, W]`` learnable tokens of that block.

    Returns:
        tuple: ``global [B, D]`` and ``regions [B, h*w, D]``, un-normalised.
    """
    adapters = adapters or {}
    tokens = tokens or {}
    if adapters and labels is None:
        raise ValueError('recover_image: the adapters need label embeddings')
    x = backbone.forward_tokens(images, stop=0)
    regions = x
    num = x.shape[1]
    for index, block in enumerate(backbone.clip.visual.transformer.resblocks):
        extra = tokens.get(index)
        if extra is not None:
            x_in = torch.cat([x, extra.to(x.dtype).expand(
                x.shape[0], -1, -1)], dim=1)
        else:
            x_in = x
        region_step = value_value_attention(block, block.ln_1(x_in), num)
        x = block(x_in)[:, :num]
        adapter = adapters.get(index)
        if adapter is not None:
            region_step = region_step + adapter(x, labels)
        regions = regions + region_step
    return (backbone.project_tokens(x[:, 0]),
            backbone.project_tokens(regions[:, 1:]))


def _causal_mask(length: int, like: Tensor) -> Tensor:
    mask = torch.full((length, length), float('-inf'), dtype=like.dtype,
                      device=like.device)
    return mask.triu_(1)


def encode_text_deep_prompts(tower: Any, token_ids: Tensor,
                             prompts: Optional[Mapping[int, Tensor]] = None
                             ) -> Tensor:
    """Text features with deep prompts (un-normalised).

    The sequence is cut after its last end token (exact for a causal tower:
    no earlier position sees a later one); in a prompted block the ``n``
    learnable tokens sit right after the start token and are dropped after
    the block.

    Args:
        tower: A ``TowerView`` of an open_clip CLIP (argmax pooling, causal
            mask).
        token_ids: ``[M, L]`` token ids.
        prompts: Block index -> ``[n, W]`` learnable tokens.

    Returns:
        Tensor: ``[M, D]``.
    """
    prompts = prompts or {}
    if tower.pool_type != 'argmax' or getattr(tower.src, 'attn_mask',
                                              None) is None:
        raise NotImplementedError('deep text prompts need a causal CLIP text '
                                  'tower with argmax pooling')
    eot = token_ids.argmax(dim=-1)
    length = int(eot.max()) + 1
    token_ids = token_ids[:, :length]
    cast = tower.transformer.get_cast_dtype()
    x = tower.token_embedding(token_ids).to(cast)
    x = x + tower.positional_embedding[:length].to(cast)
    for index, block in enumerate(tower.transformer.resblocks):
        extra = prompts.get(index)
        if extra is None:
            x = block(x, attn_mask=_causal_mask(x.shape[1], x))
            continue
        n = extra.shape[0]
        x = torch.cat([x[:, :1], extra.to(x.dtype).expand(x.shape[0], -1, -1),
                       x[:, 1:]], dim=1)
        x = block(x, attn_mask=_causal_mask(x.shape[1], x))
        x = torch.cat([x[:, :1], x[:, 1 + n:]], dim=1)
    x = tower.ln_final(x)
    x = x[torch.arange(x.shape[0], device=x.device), eot]
    proj = tower.text_projection
    return proj(x) if isinstance(proj, nn.Linear) else x @ proj
