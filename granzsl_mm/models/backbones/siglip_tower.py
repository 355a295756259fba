"""SigLIPBackbone: open_clip's timm image towers with an attention-pool head.

SigLIP (Zhai et al. 2023) in open_clip (``ViT-B-16-SigLIP``, tag
``'webli'``) is a ``CustomTextCLIP`` whose image tower is a timm
``VisionTransformer`` without CLS pooling: after the last block and the
final norm, a multi-head attention-pool (MAP) head lets one learned latent
query attend to the patch tokens, then ``proj`` and a residual MLP. It has
no CLS token to read and no per-patch query, so ``OpenCLIPBackbone`` (CLS
pooling, ClearCLIP's q-q attention in the last block) does not apply.

* **global**: the MAP head's output (then the tower's head), exactly
  open_clip's ``model.encode_image``;
* **dense**: each patch token after the final norm through the MAP head's
  value path: ``v = kv(t)[value half]``, ``y = proj(v)``,
  ``y + mlp(norm(y))``, then the tower's head. This is the head's output had
  its attention fallen on that one patch (MaskCLIP's reading of CLIP's
  ResNet attention pool), so the dense tokens live in the global's space.

Text features come from open_clip's text tower
(:class:`~granzsl_mm.models.text.CLIPTextEncoder` handles SigLIP's
last-token pooling, no causal mask); the model's ``logit_scale`` and
``logit_bias`` give the sigmoid scores
(``ZeroShotMultiLabelClassifier(logit_bias='clip', score_act='sigmoid')``).
"""
from typing import Optional, Sequence, Tuple, Union

from mmengine.model import BaseModule
from torch import Tensor, nn

from granzsl_mm.registry import MODELS

from .open_clip_builder import PRECISIONS, build_open_clip

__all__ = ['SigLIPBackbone', 'map_head_value_path', 'is_map_tower']

DENSE_MODES = (None, 'plain')
OUT_TYPES = ('tuple', 'global')


def is_map_tower(visual: nn.Module) -> bool:
    """Whether an open_clip image tower is a timm trunk with a MAP head."""
    trunk = getattr(visual, 'trunk', None)
    return getattr(trunk, 'attn_pool', None) is not None


def map_head_value_path(pool: nn.Module, tokens: Tensor) -> Tensor:
    """A timm ``AttentionPoolLatent`` applied to each token on its own.

    Args:
        pool: The MAP head (``kv``, ``proj``, ``norm``, ``mlp``, optional
            ``pos_embed``).
        tokens: ``[B, N, C]`` tokens the head pools (after the final norm).

    Returns:
        Tensor: ``[B, N, out]``: per token, the head's output when its
        attention is all on that token.
    """
    if pool.pos_embed is not None:
        tokens = tokens + pool.pos_embed.unsqueeze(0).to(tokens.dtype)
    width = pool.kv.out_features // 2
    value = pool.kv(tokens)[..., width:]
    out = pool.proj(value)
    if pool.mlp is not None:
        out = out + pool.mlp(pool.norm(out))
    return out


@MODELS.register_module()
class SigLIPBackbone(BaseModule):
    """open_clip timm image tower with a MAP head (SigLIP), global + dense.

    Args:
        arch: open_clip architecture (``'ViT-B-16-SigLIP'``).
        pretrained: open_clip tag (``'webli'``), local checkpoint, or
            ``'random'``.
        model_cfg: open_clip config dict (tiny towers in tests: a
            ``timm_model_name`` with ``timm_pool='map'``).
        dense_mode: None (global only) or ``'plain'`` (the MAP head's value
            path on every patch, see :func:`map_head_value_path`).
        frozen: Freeze the whole model.
        precision: ``'fp32'``, ``'bf16'`` or ``'fp16'``.
        out_type: ``'tuple'`` -> ``(global, dense)``; ``'global'`` ->
            ``(global,)``.
        init_cfg: mmengine init config.
    """

    def __init__(self,
                 arch: str = 'ViT-B-16-SigLIP',
                 pretrained: Optional[str] = None,
                 model_cfg: Optional[dict] = None,
                 dense_mode: Optional[str] = None,
                 frozen: bool = True,
                 precision: str = 'fp32',
                 out_type: str = 'tuple',
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if dense_mode not in DENSE_MODES:
            raise ValueError(f'dense_mode must be one of {DENSE_MODES} for a '
                             f'MAP-head tower, got {dense_mode!r} (ClearCLIP '
                             'needs a CLS-pooled ViT: OpenCLIPBackbone)')
        if out_type not in OUT_TYPES:
            raise ValueError(f'out_type must be one of {OUT_TYPES}, got '
                             f'{out_type!r}')
        self.clip, self.tokenizer = build_open_clip(
            arch, pretrained=pretrained, model_cfg=model_cfg,
            precision=precision)
        if not is_map_tower(self.clip.visual):
            raise TypeError(f'{arch!r}: SigLIPBackbone needs an open_clip '
                            'timm image tower with an attention-pool (MAP) '
                            'head (timm_pool="map"); CLS-pooled ViTs: '
                            'OpenCLIPBackbone.')
        self.dense_mode = dense_mode
        self.out_type = out_type
        self.dtype = PRECISIONS[precision]
        self.frozen = frozen
        self.clip.requires_grad_(not frozen)

    def init_weights(self) -> None:
        """Keep the open_clip weights (random or loaded)."""

    def train(self, mode: bool = True) -> 'SigLIPBackbone':
        """A frozen tower stays in eval mode."""
        super().train(mode)
        if self.frozen:
            self.clip.eval()
        return self

    @property
    def trunk(self) -> nn.Module:
        """The timm ``VisionTransformer``."""
        return self.clip.visual.trunk

    @property
    def patch_size(self) -> Sequence[int]:
        """Patch size ``(ph, pw)``."""
        return tuple(self.trunk.patch_embed.patch_size)

    @property
    def image_size(self) -> Tuple[int, int]:
        """The tower's input size ``(H, W)`` (fixed: timm's position
        embedding is not interpolated here)."""
        return tuple(self.clip.visual.image_size)

    def _finish(self, pooled: Tensor) -> Tensor:
        """The trunk's ``fc_norm`` and head, then open_clip's head."""
        trunk = self.trunk
        return self.clip.visual.head(trunk.head(trunk.fc_norm(pooled)))

    def forward(self, images: Tensor) -> Union[Tuple[Tensor, Optional[Tensor]],
                                               Tuple[Tensor]]:
        """Encode images.

        Args:
            images: ``[B, 3, H, W]`` at the tower's input size.

        Returns:
            tuple: ``(global [B, D], dense [B, h*w, D] or None)``
            un-normalised, or ``(global,)`` when ``out_type='global'``.
        """
        if tuple(images.shape[-2:]) != self.image_size:
            raise ValueError(f'SigLIPBackbone takes {self.image_size} '
                             f'images, got {tuple(images.shape[-2:])}; '
                             'resize in the pipeline')
        trunk = self.trunk
        tokens = trunk.forward_features(images.to(self.dtype))
        global_feat = self.clip.visual.head(trunk.forward_head(tokens))
        dense = None
        if self.dense_mode == 'plain':
            patches = tokens[:, trunk.num_prefix_tokens:]
            dense = self._finish(map_head_value_path(trunk.attn_pool,
                                                     patches))
        if self.out_type == 'global':
            return (global_feat, )
        return global_feat, dense
