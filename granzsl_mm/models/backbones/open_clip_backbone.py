"""OpenCLIPBackbone: open_clip's image tower as an MMPretrain backbone.

The forward runs over open_clip's ``VisionTransformer`` modules itself so that
(1) other image sizes work (bicubic interpolation of the positional
embedding; open_clip's ``encode_image`` rejects them) and (2) dense patch
features can be taken ('plain' or ClearCLIP-style q-q attention).
"""
import math
from typing import List, Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule
from torch import Tensor

from granzsl_mm.registry import MODELS

from .open_clip_builder import PRECISIONS, build_open_clip
from .resnet_tower import (
    attention_pool_tokens,
    is_modified_resnet,
    resnet_feature_map,
)
from .tagclip_tower import attention_block, self_only_mask

__all__ = ['OpenCLIPBackbone', 'interpolate_pos_embed', 'clearclip_attention',
           'cls_token_block', 'input_projection']

DENSE_MODES = (None, 'plain', 'clearclip', 'tagclip')
OUT_TYPES = ('tuple', 'global')


def interpolate_pos_embed(pos_embed: Tensor, grid: Tuple[int, int],
                          mode: str = 'bicubic') -> Tensor:
    """Resize a ``[1 + g*g, W]`` CLS + square-grid positional embedding.

    Args:
        pos_embed: The learned embedding, CLS first.
        grid: Target ``(h, w)`` patch grid.
        mode: ``'bicubic'`` or ``'bilinear'`` (TagCLIP's), no corner
            alignment.

    Returns:
        Tensor: ``[1 + h*w, W]``; the input itself when the grid matches.
    """
    cls_pos, patch_pos = pos_embed[:1], pos_embed[1:]
    side = int(math.isqrt(patch_pos.shape[0]))
    if side * side != patch_pos.shape[0]:
        raise ValueError('positional embedding grid is not square: '
                         f'{patch_pos.shape[0]} patches')
    if (side, side) == tuple(grid):
        return pos_embed
    patch_pos = patch_pos.reshape(1, side, side, -1).permute(0, 3, 1, 2)
    patch_pos = F.interpolate(patch_pos.float(), size=tuple(grid),
                              mode=mode, align_corners=False)
    patch_pos = patch_pos.permute(0, 2, 3, 1).reshape(grid[0] * grid[1], -1)
    return torch.cat([cls_pos, patch_pos.to(pos_embed.dtype)], dim=0)


def input_projection(block: torch.nn.Module, x: Tensor) -> Tensor:
    """``[B, N, 3W]``: q, k and v of ``ln_1(x)`` in one matrix product
    (what :func:`clearclip_attention` and :func:`cls_token_block` share)."""
    attn = block.attn
    return F.linear(block.ln_1(x), attn.in_proj_weight, attn.in_proj_bias)


def _heads(t: Tensor, heads: int) -> Tensor:
    """``[B, N, W]`` -> ``[B, heads, N, W / heads]``."""
    return t.reshape(t.shape[0], t.shape[1], heads, -1).transpose(1, 2)


def _unheads(t: Tensor) -> Tensor:
    """``[B, heads, N, d]`` -> ``[B, N, heads * d]``."""
    return t.transpose(1, 2).flatten(2)


def clearclip_attention(block: torch.nn.Module, x: Tensor,
                        qkv: Optional[Tensor] = None) -> Tensor:
    """ClearCLIP dense path of one residual block: q-q attention only.

    ``softmax(q qᵀ · d^-0.5) v`` per head on ``ln_1(x)``, then ``out_proj``;
    no residual, no MLP (the CLS token takes part in the attention).

    Args:
        block: An open_clip ``ResidualAttentionBlock`` (``nn.MultiheadAttention``
            with packed ``in_proj``).
        x: ``[B, N, W]`` input of the block (batch first).
        qkv: Its :func:`input_projection`, when already computed.

    Returns:
        Tensor: ``[B, N, W]``.
    """
    attn = block.attn
    qkv = input_projection(block, x) if qkv is None else qkv
    q, _, v = (_heads(t, attn.num_heads) for t in qkv.chunk(3, -1))
    out = F.scaled_dot_product_attention(q, q, v)  # scale = d^-0.5
    return attn.out_proj(_unheads(out))


def cls_token_block(block: torch.nn.Module, x: Tensor,
                    qkv: Optional[Tensor] = None) -> Tensor:
    """One residual block's output at the CLS token only.

    Equals ``block(x)[:, :1]`` (float rounding aside): the CLS token
    attends to every token, then its own MLP; the other tokens' attention
    rows and MLPs, which the global embedding does not use, are skipped
    (about 7 % of a ViT-B/16 tower).

    Args:
        block: An open_clip ``ResidualAttentionBlock`` (batch first; any
            other block runs whole).
        x: ``[B, N, W]`` input of the block, CLS first.
        qkv: Its :func:`input_projection`, when already computed (else
            only the keys and values of every token and the CLS query are
            projected).

    Returns:
        Tensor: ``[B, 1, W]``.
    """
    attn = getattr(block, 'attn', None)
    if not isinstance(attn, torch.nn.MultiheadAttention) or \
            not attn._qkv_same_embed_dim or not attn.batch_first:
        return block(x)[:, :1]
    width = x.shape[-1]
    if qkv is None:
        y = block.ln_1(x)
        weight, bias = attn.in_proj_weight, attn.in_proj_bias
        q = F.linear(y[:, :1], weight[:width],
                     None if bias is None else bias[:width])
        k, v = F.linear(y, weight[width:],
                        None if bias is None else bias[width:]).chunk(2, -1)
    else:
        q, k, v = qkv[:, :1, :width], qkv[..., width:2 * width], \
            qkv[..., 2 * width:]
    q, k, v = (_heads(t, attn.num_heads) for t in (q, k, v))
    att = F.scaled_dot_product_attention(q, k, v)  # scale = d^-0.5, as MHA
    out = x[:, :1] + block.ls_1(attn.out_proj(_unheads(att)))
    return out + block.ls_2(block.mlp(block.ln_2(out)))


@MODELS.register_module()
class OpenCLIPBackbone(BaseModule):
    """open_clip image tower returning joint-space global (+ dense) features.

    Args:
        arch: open_clip architecture name.
        pretrained: open_clip tag, local checkpoint path, or ``'random'``
            (an explicitly random tower; None is refused).
        model_cfg: open_clip config dict for a custom architecture.
        dense_mode: None (global only), ``'plain'`` (patch tokens after
            ``ln_post @ proj``), ``'clearclip'`` (q-q attention in the last
            block, see :func:`clearclip_attention`) or ``'tagclip'`` (each
            token attends to itself only in the last block, residual and
            MLP kept, see :func:`.tagclip_tower.attention_block`).
        frozen: Freeze the whole CLIP model.
        trainable_blocks_from: If set, vision blocks with index >= this,
            ``ln_post`` and ``proj`` are trainable (the rest stays frozen).
        precision: ``'fp32'``, ``'bf16'`` or ``'fp16'``.
        out_type: ``'tuple'`` -> ``(global, dense)``; ``'global'`` ->
            ``(global,)`` for MMPretrain necks / heads.
        init_cfg: mmengine init config (CLIP weights come from
            ``pretrained``, not from here).
    """

    def __init__(self,
                 arch: str = 'ViT-B-16',
                 pretrained: Optional[str] = None,
                 model_cfg: Optional[dict] = None,
                 dense_mode: Optional[str] = None,
                 frozen: bool = True,
                 trainable_blocks_from: Optional[int] = None,
                 precision: str = 'fp32',
                 out_type: str = 'tuple',
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if dense_mode not in DENSE_MODES:
            raise ValueError(f'dense_mode must be one of {DENSE_MODES}, got '
                             f'{dense_mode!r}')
        if out_type not in OUT_TYPES:
            raise ValueError(f'out_type must be one of {OUT_TYPES}, got '
                             f'{out_type!r}')
        self.clip, self.tokenizer = build_open_clip(
            arch, pretrained=pretrained, model_cfg=model_cfg,
            precision=precision)
        visual = self.clip.visual
        # a ModifiedResNet (RN50, RN101): its code is in resnet_tower.py
        self.is_resnet = is_modified_resnet(visual)
        needed = ('conv1', 'class_embedding', 'positional_embedding',
                  'ln_pre', 'transformer', 'ln_post', 'proj')
        if self.is_resnet:
            if dense_mode not in (None, 'plain') or \
                    trainable_blocks_from is not None:
                raise ValueError(f'{arch!r} is a ResNet tower: dense_mode '
                                 f'{dense_mode!r} and trainable_blocks_from '
                                 'are ViT options (use dense_mode None or '
                                 "'plain')")
        elif not all(hasattr(visual, n) for n in needed) or getattr(
                visual, 'attn_pool', None) is not None:
            raise TypeError(f'{arch!r}: OpenCLIPBackbone needs an open_clip '
                            'ViT image tower with CLS token pooling or a '
                            'ModifiedResNet.')
        self.dense_mode = dense_mode
        self.out_type = out_type
        self.dtype = PRECISIONS[precision]
        if self.is_resnet:
            self.embed_dim = int(visual.attnpool.c_proj.out_features)
            self.num_layers = 0  # no transformer blocks
        else:
            self.embed_dim = int(visual.proj.shape[1])
            self.num_layers = len(visual.transformer.resblocks)
        self.frozen = frozen
        self.trainable_blocks_from = trainable_blocks_from
        self._set_trainable()

    def init_weights(self) -> None:
        """Keep CLIP weights (random or loaded); nothing to initialise."""

    def _set_trainable(self) -> None:
        self.clip.requires_grad_(not self.frozen
                                 and self.trainable_blocks_from is None)
        start = self.trainable_blocks_from
        if start is None:
            return
        if not 0 <= start <= self.num_layers:
            raise ValueError(f'trainable_blocks_from={start} outside '
                             f'[0, {self.num_layers}]')
        visual = self.clip.visual
        for block in visual.transformer.resblocks[start:]:
            block.requires_grad_(True)
        visual.ln_post.requires_grad_(True)
        visual.proj.requires_grad_(True)

    def train(self, mode: bool = True) -> 'OpenCLIPBackbone':
        """Frozen towers stay in eval mode (no dropout)."""
        super().train(mode)
        if self.frozen and self.trainable_blocks_from is None:
            self.clip.eval()
        return self

    def forward(self, images: Tensor) -> Union[Tuple[Tensor, Optional[Tensor]],
                                               Tuple[Tensor]]:
        """Encode images.

        Args:
            images: ``[B, 3, H, W]``, H and W multiples of the patch size.

        Returns:
            tuple: ``(global [B, D], dense [B, h*w, D] or None)``
            un-normalised, or ``(global,)`` when ``out_type='global'``. A
            ResNet tower: the attention-pool output and, for ``'plain'``, the
            pool's value / output projections at the ``h*w`` positions
            (:func:`~.resnet_tower.attention_pool_tokens`).
        """
        if self.is_resnet:
            global_feat, regions = self.forward_regions(images)
            dense = regions[:, 1:] if self.dense_mode == 'plain' else None
            if self.out_type == 'global':
                return (global_feat, )
            return global_feat, dense
        last_block = self.clip.visual.transformer.resblocks[-1]
        last_in = self.forward_tokens(images, stop=self.num_layers - 1)
        if self.out_type == 'global':  # no dense pass to compute
            x = cls_token_block(last_block, last_in)
            return (self.project_tokens(x[:, 0]), )
        # ClearCLIP's pass and the CLS token share the input projection
        qkv = input_projection(last_block, last_in) \
            if self.dense_mode == 'clearclip' else None
        if self.dense_mode == 'plain':
            x = last_block(last_in)
        else:  # only the CLS token of the last block is used
            x = cls_token_block(last_block, last_in, qkv)
        global_feat = self.project_tokens(x[:, 0])
        dense = None
        if self.dense_mode == 'plain':
            dense = self.project_tokens(x[:, 1:])
        elif self.dense_mode == 'clearclip':
            y = clearclip_attention(last_block, last_in, qkv)
            dense = self.project_tokens(y[:, 1:])
        elif self.dense_mode == 'tagclip':
            y, _ = attention_block(last_block, last_in,
                                   self_only_mask(last_in.shape[1]))
            dense = self.project_tokens(y[:, 1:])
        return global_feat, dense

    def forward_regions(self, images: Tensor) -> Tuple[Tensor, Tensor]:
        """Global embedding and region tokens, the pooled position first.

        What DualCoOp's region aggregation runs over. A ResNet tower: the
        attention-pool output and ``c_proj(v_proj(.))`` at the mean position
        and at every feature-map position, as DualCoOp's image encoder. A ViT:
        the CLS embedding and all tokens after ``ln_post @ proj`` (CLS first:
        the ``'plain'`` dense tokens, whatever ``dense_mode`` says).

        Args:
            images: ``[B, 3, H, W]``.

        Returns:
            tuple: ``global [B, D]`` and ``regions [B, 1 + h*w, D]``,
            un-normalised.
        """
        visual = self.clip.visual
        if self.is_resnet:
            fmap = resnet_feature_map(visual, images.to(self.dtype))
            pos = interpolate_pos_embed(visual.attnpool.positional_embedding,
                                        fmap.shape[-2:])
            return attention_pool_tokens(visual.attnpool, fmap, pos)
        tokens = self.project_tokens(self.forward_tokens(images))
        return tokens[:, 0], tokens

    # ------------------------------------------------------- token level
    def forward_tokens(self, images: Tensor,
                       stop: Optional[int] = None,
                       pos_mode: str = 'bicubic') -> Tensor:
        """Token sequence of the image tower, before ``ln_post``.

        The stem (patch embedding, CLS token, positional embedding
        interpolated to the patch grid, ``ln_pre``) followed by the residual
        blocks ``[0, stop)``.

        Args:
            images: ``[B, 3, H, W]``, H and W multiples of the patch size.
            stop: Number of blocks to run (None: all, 0: the stem only).
            pos_mode: Interpolation of the positional embedding (see
                :func:`interpolate_pos_embed`).

        Returns:
            Tensor: ``[B, 1 + h*w, W]`` tokens (CLS first), in the tower's
            dtype.
        """
        visual = self.clip.visual
        x = visual.conv1(images.to(self.dtype))
        grid = x.shape[-2:]
        x = x.flatten(2).transpose(1, 2)
        cls = visual.class_embedding.to(x.dtype).expand(x.shape[0], 1, -1)
        x = torch.cat([cls, x], dim=1)
        x = x + interpolate_pos_embed(visual.positional_embedding, grid,
                                      pos_mode).to(x.dtype)
        x = visual.ln_pre(x)
        return self.forward_blocks(x, 0, stop)

    def forward_blocks(self, tokens: Tensor, start: int,
                       stop: Optional[int] = None) -> Tensor:
        """Run the residual blocks ``[start, stop)`` on a token sequence.

        Args:
            tokens: ``[B, N, W]`` tokens (output of block ``start - 1``).
            start: First block.
            stop: End (exclusive; None: through the last block).

        Returns:
            Tensor: ``[B, N, W]``.
        """
        for block in self.clip.visual.transformer.resblocks[start:stop]:
            tokens = block(tokens)
        return tokens

    def project_tokens(self, tokens: Tensor) -> Tensor:
        """``ln_post(tokens) @ proj``: tokens into the joint embedding space.

        Args:
            tokens: ``[..., W]`` tokens of the last block.

        Returns:
            Tensor: ``[..., D]``, un-normalised.
        """
        visual = self.clip.visual
        return visual.ln_post(tokens) @ visual.proj

    def trunk_parameters(self, stop: int) -> List[torch.nn.Parameter]:
        """Parameters of the stem and of the blocks ``[0, stop)``.

        Args:
            stop: Number of blocks in the trunk.

        Returns:
            list[nn.Parameter]: E.g. to check that the trunk is frozen.
        """
        visual = self.clip.visual
        blocks = visual.transformer.resblocks[:stop]
        return (list(visual.conv1.parameters())
                + list(visual.ln_pre.parameters())
                + [visual.class_embedding, visual.positional_embedding]
                + [p for b in blocks for p in b.parameters()])

    def get_layer_depth(self, param_name: str,
                        prefix: str = '') -> Tuple[int, int]:
        """Layer id for MMPretrain's layer-wise lr decay.

        Embeddings are layer 0, vision block i is layer i + 1, ``ln_post`` /
        ``proj`` and everything else (text tower, logit scale) the last.

        Args:
            param_name: Parameter name (optionally starting with ``prefix``).
            prefix: Prefix of the backbone in the full model.

        Returns:
            tuple: ``(layer_id, max_layer_id)``.
        """
        max_layer_id = self.num_layers + 2
        if not param_name.startswith(prefix):
            return max_layer_id - 1, max_layer_id
        name = param_name[len(prefix):]
        visual = 'clip.visual.'
        if not name.startswith(visual):
            return max_layer_id - 1, max_layer_id
        name = name[len(visual):]
        if name.startswith(('conv1', 'class_embedding', 'positional_embedding',
                            'ln_pre')):
            return 0, max_layer_id
        if name.startswith('transformer.resblocks.'):
            return int(name.split('.')[2]) + 1, max_layer_id
        return max_layer_id - 1, max_layer_id

    @property
    def patch_size(self) -> Sequence[int]:
        """Patch size ``(ph, pw)`` of the image tower (a ResNet: its
        stride, 32)."""
        if self.is_resnet:
            return (32, 32)
        return tuple(self.clip.visual.conv1.kernel_size)
