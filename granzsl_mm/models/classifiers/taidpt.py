"""TaI-DPT (Guo et al., CVPR 2023): prompts learned from text alone, with
double-grained (global and local) prompts, scored on images.

Reference: ``guozix/TaI-DPT`` (``trainers/Caption_distill_double.py``:
``PromptLearner``, ``DenseCLIP``, ``Caption_distill_double``;
``trainers/utils.py: ranking_loss``; ``Dassl.pytorch-master/dassl/
evaluation/evaluator.py: MLClassification``).

* Prompts: two CoOp contexts shared by all classes ("X ... X {name}."), a
  global one (``ctx``) and a local one (``ctx_double``), through the frozen
  CLIP text tower (:class:`~granzsl_mm.models.heads.ContextPromptLearner`,
  as DualCoOp's).
* Training (no image): a caption stands in for an image. Its global feature
  is the text tower's EOT output, its local features the outputs at every
  token (all projected), padding masked out
  (``CLIPTextEncoder.encode_token_features``).
* Test: the image's global feature is CLIP's attention pool run *without*
  its positional embedding (the reference's ``attnpool(x, if_pos=False)``),
  its local features ``c_proj(v_proj(.))`` at every feature-map position,
  also without it. A ViT tower (the proving ground's): the CLS embedding and
  the patch tokens after ``ln_post @ proj``.
* Logits (all features L2-normalised): global ``s * <g, global prompt>``;
  local, per class, a softmax over the tokens / positions of
  ``tau * <token, local prompt>`` weighting ``s * <token, local prompt>``
  (``s`` = 4, ``tau`` = 50 on captions, 40 or 4 on images).
* Loss: :func:`~granzsl_mm.models.losses.functional.hinge_ranking_loss` on
  the global plus on the local logits (margin 1).
* Score: ``r * global + (1 - r) * local`` (``GL_merge_rate`` r = 0.5): every
  class on its own, so the unseen columns are the ZSL scores.
"""
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from mmpretrain.structures import DataSample

from granzsl_mm.registry import MODELS
from granzsl_mm.structures.class_names import ClassSource

from ..backbones.resnet_tower import attention_pool_tokens, resnet_feature_map
from .base import MultiLabelClassifierBase, check_label_sets
from .dualcoop import set_up_frozen_clip
from .mkt_spml import seen_columns, stack_gt_scores

__all__ = ['TaIDPT', 'double_grained_logits']

# the reference adds this to the token cosines of padding positions
_MASK = -10000.0


def double_grained_logits(global_feat: torch.Tensor, local_feat: torch.Tensor,
                          global_prompts: torch.Tensor,
                          local_prompts: torch.Tensor, logit_scale: float,
                          spatial_scale: float,
                          padding: Optional[torch.Tensor] = None
                          ) -> Tuple[torch.Tensor, torch.Tensor]:
    """TaI-DPT's global and local logits.

    Args:
        global_feat (torch.Tensor): ``[B, D]`` normalised global features.
        local_feat (torch.Tensor): ``[B, N, D]`` normalised local features.
        global_prompts (torch.Tensor): ``[C, D]`` normalised global prompts.
        local_prompts (torch.Tensor): ``[C, D]`` normalised local prompts.
        logit_scale (float): Scale of the cosines (reference 4).
        spatial_scale (float): Temperature of the softmax over the ``N``
            tokens (``spatial_SCALE_text`` / ``_image``).
        padding (torch.Tensor, optional): ``[B, N]`` True where a token is
            padding (masked out of the softmax).

    Returns:
        tuple: ``[B, C]`` global and ``[B, C]`` local logits.
    """
    glob = logit_scale * global_feat @ global_prompts.t()
    sim = torch.einsum('bnd,cd->bnc', local_feat, local_prompts)
    if padding is not None:
        sim = sim + _MASK * padding.to(sim.dtype).unsqueeze(-1)
    weight = (sim * spatial_scale).softmax(dim=1)
    return glob, (logit_scale * sim * weight).sum(dim=1)


@MODELS.register_module()
class TaIDPT(MultiLabelClassifierBase):
    """TaI-DPT on a frozen CLIP, trained on captions.

    Args:
        backbone (dict): ``OpenCLIPBackbone`` config (TaI-DPT: RN50).
        num_classes (int): All classes (seen then unseen).
        class_names: Names of all classes in label order, see
            :func:`~granzsl_mm.structures.read_class_names`.
        num_seen_classes (int, optional): The classes trained on (the first
            ones); None: all (the reference's setting).
        num_context_tokens (int): Context length of both prompts (``N_CTX``).
        class_specific (bool): One context per class (``CSC``).
        init_std (float): Random initialisation of the contexts.
        init_words (str, optional): Initialise both contexts from these words
            (``CTX_INIT``; the reference's trainer fails with it, see the
            docs).
        logit_scale (float): Scale of all cosines (the reference's 4.0 with
            ``IF_LEARN_SCALE`` False).
        text_spatial_scale (float): Softmax temperature over caption tokens
            (``spatial_SCALE_text``).
        image_spatial_scale (float): Same over image positions
            (``spatial_SCALE_image``).
        global_weight (float): Weight of the global logits in the score
            (``GL_merge_rate``); the local ones get ``1 - global_weight``.
        image_positional_embedding (bool): Add the attention pool's
            positional embedding on a ResNet (the reference does not).
        loss (dict): Loss on ``[B, C]`` logits, applied to both branches.
        save_frozen_weights (bool): Keep the frozen CLIP in checkpoints.
        data_preprocessor (dict, optional): Defaults to
            ``TextImageDataPreprocessor`` (captions pass through).
        init_cfg (dict, optional): Initialisation config.
    """

    def __init__(self,
                 backbone: dict,
                 num_classes: int,
                 class_names: ClassSource,
                 num_seen_classes: Optional[int] = None,
                 num_context_tokens: int = 16,
                 class_specific: bool = False,
                 init_std: float = 0.02,
                 init_words: Optional[str] = None,
                 logit_scale: float = 4.0,
                 text_spatial_scale: float = 50.0,
                 image_spatial_scale: float = 40.0,
                 global_weight: float = 0.5,
                 image_positional_embedding: bool = False,
                 loss: Optional[dict] = None,
                 save_frozen_weights: bool = False,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(data_preprocessor=data_preprocessor or dict(
            type='TextImageDataPreprocessor'), init_cfg=init_cfg)
        num_seen = num_classes if num_seen_classes is None else \
            num_seen_classes
        check_label_sets(num_classes, num_seen)
        if not 0.0 <= global_weight <= 1.0:
            raise ValueError(f'global_weight={global_weight} must lie in '
                             '[0, 1]')
        learner = set_up_frozen_clip(self, backbone, class_names,
                                     num_classes, save_frozen_weights,
                                     num_tokens=num_context_tokens,
                                     class_specific=class_specific,
                                     init_std=init_std, init_words=init_words)
        self.num_seen_classes = num_seen
        self.logit_scale = logit_scale
        self.text_spatial_scale = text_spatial_scale
        self.image_spatial_scale = image_spatial_scale
        self.global_weight = global_weight
        self.image_positional_embedding = image_positional_embedding
        # the reference draws ctx, then ctx_double
        self.global_prompt = MODELS.build(learner)
        self.local_prompt = MODELS.build(learner)
        self.loss_module = MODELS.build(loss or dict(type='HingeRankingLoss'))

    def train(self, mode: bool = True) -> 'TaIDPT':
        """Switch mode; the frozen CLIP stays in eval mode."""
        super().train(mode)
        self.backbone.clip.eval()
        return self

    # ----------------------------------------------------------- features
    def prompts(self, indices: Optional[Sequence[int]] = None
                ) -> Tuple[torch.Tensor, torch.Tensor]:
        """``[C', D]`` normalised global and local prompts of the classes."""
        return (self.global_prompt(self.text_encoder, indices),
                self.local_prompt(self.text_encoder, indices))

    def image_features(self, images: torch.Tensor
                       ) -> Tuple[torch.Tensor, torch.Tensor]:
        """Normalised global ``[B, D]`` and local ``[B, h*w, D]`` features
        of the frozen image tower."""
        backbone = self.backbone
        with torch.no_grad():
            if backbone.is_resnet and not self.image_positional_embedding:
                visual = backbone.clip.visual
                fmap = resnet_feature_map(visual, images.to(backbone.dtype))
                zero = fmap.new_zeros(1 + fmap.shape[-2] * fmap.shape[-1],
                                      fmap.shape[1])
                glob, tokens = attention_pool_tokens(visual.attnpool, fmap,
                                                     zero)
            else:
                glob, tokens = backbone.forward_regions(images)
        dtype = torch.promote_types(glob.dtype, torch.float32)
        return (F.normalize(glob.to(dtype), dim=-1),
                F.normalize(tokens[:, 1:].to(dtype), dim=-1))

    def caption_features(self, texts: Sequence[str]
                         ) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """A caption as an image: normalised EOT feature ``[B, D]``, token
        features ``[B, L, D]`` and the ``[B, L]`` padding mask."""
        tokens = self.text_encoder.tokenize(list(texts))
        with torch.no_grad():
            feats, tokens = self.text_encoder.encode_token_features(tokens)
        rows = torch.arange(feats.shape[0], device=feats.device)
        glob = feats[rows, tokens.argmax(dim=-1)]
        return (F.normalize(glob, dim=-1), F.normalize(feats, dim=-1),
                tokens == 0)

    # ------------------------------------------------------------- logits
    def logits(self, inputs: Union[torch.Tensor, Sequence[str]],
               indices: Optional[Sequence[int]] = None
               ) -> Tuple[torch.Tensor, torch.Tensor]:
        """Global and local ``[B, C']`` logits of images or captions.

        Args:
            inputs: ``[B, 3, H, W]`` images, or captions (a list of str).
            indices (Sequence[int], optional): Classes (default: all).

        Returns:
            tuple: The global and the local logits.
        """
        if isinstance(inputs, torch.Tensor):
            glob, local = self.image_features(inputs)
            padding, scale = None, self.image_spatial_scale
        else:
            glob, local, padding = self.caption_features(inputs)
            scale = self.text_spatial_scale
        global_prompts, local_prompts = self.prompts(indices)
        return double_grained_logits(
            glob, local, global_prompts.to(glob), local_prompts.to(glob),
            self.logit_scale, scale, padding)

    def forward_tensor(self, inputs: Union[torch.Tensor, List[str]]
                       ) -> torch.Tensor:
        """``[B, C]`` merged scores over all classes."""
        glob, local = self.logits(inputs)
        return self.global_weight * glob + (1 - self.global_weight) * local

    def loss(self, inputs: Union[torch.Tensor, List[str]],
             data_samples: List[DataSample]) -> Dict[str, torch.Tensor]:
        """Ranking losses of both branches on the trained classes.

        Args:
            inputs: Captions (a list of str), or images.
            data_samples (list[DataSample]): With ``gt_score``.

        Returns:
            dict[str, torch.Tensor]: ``loss_global`` and ``loss_local``.
        """
        device = self.global_prompt.context.device
        targets = seen_columns(stack_gt_scores(data_samples, device),
                               self.num_seen_classes, self.num_classes,
                               'gt_score')
        indices = None if self.num_seen_classes == self.num_classes else \
            list(range(self.num_seen_classes))
        glob, local = self.logits(inputs, indices)
        return dict(loss_global=self.loss_module(glob, targets),
                    loss_local=self.loss_module(local, targets))

    @torch.no_grad()
    def predict(self, inputs: Union[torch.Tensor, List[str]],
                data_samples: Optional[List[DataSample]] = None
                ) -> List[DataSample]:
        """``pred_score`` over all classes (the merged logits)."""
        return self.pack_scores(self.forward_tensor(inputs), data_samples)
