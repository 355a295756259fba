"""Recover-and-Match (Tan et al., CVPR 2025): open-vocabulary multi-label
recognition through knowledge-constrained optimal transport.

Named ``RecoverMatch`` so that it is never mistaken for Recognize Anything;
the reference code is ``EricTan7/RAM`` (``model/model.py::RAM_Model``).

What it learns, on a frozen CLIP (``OpenCLIPBackbone``):

* local adapters (LLA, :class:`~granzsl_mm.models.heads.LadderLocalAdapter`)
  in the last vision blocks, with a few learnable tokens appended to those
  blocks, that recover regional semantics in a value-value region path of
  the tower (:func:`~granzsl_mm.models.backbones.recover_match_tower.
  recover_image`);
* deep text prompts in the last text blocks
  (:func:`~granzsl_mm.models.backbones.recover_match_tower.
  encode_text_deep_prompts`), prompt "a photo of a {}.";
* two temperatures: of the global logits (initial ``1 / logit_scale``) and of
  the matched local logits.

Scores of a label set: the CLS embedding against the label embeddings
(global), and the regions matched to the labels by an optimal-transport plan
(KCOT, :func:`~granzsl_mm.models.losses.functional.kcot_plan`; during
training its cost is constrained by the frozen CLIP's region distribution of
each label, with negatives pushed away); each softmaxed over the scored set
and averaged. Because the adapters attend to the scored label set and the
scores are normalised across it, the ZSL set (unseen classes) and the GZSL
set (all) are scored by separate passes: ``pred_score_zsl`` and
``pred_score``. Loss: the multi-matching contrastive loss
(:func:`~granzsl_mm.models.losses.functional.multi_matching_loss`) of the
global and of the matched logits on the seen classes.
"""
from typing import Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.optim import OptimWrapper, OptimWrapperDict
from mmpretrain.structures import DataSample

from granzsl_mm.registry import MODELS
from granzsl_mm.structures.class_names import ClassSource, read_class_names
from granzsl_mm.structures.prompts import CLIP_TEMPLATE

from ..backbones.recover_match_tower import encode_text_deep_prompts, recover_image
from ..heads.ladder_local_adapter import LadderLocalAdapter
from ..losses.functional.optimal_transport import (
    kcot_plan,
    matched_logits,
    teacher_region_distribution,
)
from ..multi_optim_step import step_optim_wrappers
from .base import MultiLabelClassifierBase, check_label_sets
from .mkt_spml import seen_columns, stack_gt_scores

__all__ = ['RecoverMatch']

LABEL_SETS = ('seen', 'unseen', 'all')


def _full(x: torch.Tensor) -> torch.Tensor:
    """Half-precision features to float32; float32 / float64 kept."""
    return x.float() if x.dtype in (torch.float16, torch.bfloat16) else x


@MODELS.register_module()
class RecoverMatch(MultiLabelClassifierBase):
    """Recover-and-Match.

    Args:
        backbone (dict): ``OpenCLIPBackbone`` config (a ViT; frozen).
        num_classes (int): All classes, seen then unseen.
        num_seen_classes (int): How many of them are seen.
        class_names: Names of all classes in label order.
        template (str): Prompt (the reference's "A photo of a {}."; CLIP's
            tokenizer lower-cases it).
        adapter_blocks (Sequence[int]): Vision blocks with a local adapter
            and learnable tokens (``DEPTH_VISION``).
        text_prompt_blocks (Sequence[int]): Text blocks with deep prompts
            (``DEPTH_TEXT``).
        num_adapter_tokens (int): Learnable tokens per adapted vision block
            (``VISION_ADAPT``, 8).
        num_text_prompts (int): Deep prompt tokens per text block
            (``TEXT_CTX``, 4).
        kernel_size (int): The adapters' gate kernel (``KERNEL_SIZE``).
        local_temperature (float): Initial temperature of the matched
            logits (``TEMPERATURE``).
        ot_reg (float): Entropic regularisation (``OT_REG``).
        ot_reg_knowledge (float): Weight of the knowledge cost
            (``OT_REGSC``).
        marginal_temperature (float): Of the regions' marginal (0.1).
        teacher_sharpness (float): Of the teacher's region softmax (20).
        sinkhorn_iters (int): Most Sinkhorn iterations (100).
        sinkhorn_thresh (float): Sinkhorn stopping threshold (1e-3).
        loss (dict): Loss of the global and of the matched logits.
        label_set (str): ``'gzsl'``: ``pred_score`` over all classes and
            ``pred_score_zsl`` over the unseen ones; ``'zsl'``: ``pred_score``
            over the unseen classes only (one pass).
        save_frozen_weights (bool): Keep the frozen CLIP in checkpoints.
        data_preprocessor (dict, optional): Defaults to
            ``ClsDataPreprocessor``.
        init_cfg (dict, optional): Initialisation config.
    """

    def __init__(self,
                 backbone: dict,
                 num_classes: int,
                 num_seen_classes: int,
                 class_names: ClassSource,
                 template: str = CLIP_TEMPLATE,
                 adapter_blocks: Sequence[int] = (9, 10, 11),
                 text_prompt_blocks: Sequence[int] = (9, 10, 11),
                 num_adapter_tokens: int = 8,
                 num_text_prompts: int = 4,
                 kernel_size: int = 3,
                 local_temperature: float = 2e-3,
                 ot_reg: float = 0.1,
                 ot_reg_knowledge: float = 0.05,
                 marginal_temperature: float = 0.1,
                 teacher_sharpness: float = 20.0,
                 sinkhorn_iters: int = 100,
                 sinkhorn_thresh: float = 1e-3,
                 loss: Optional[dict] = None,
                 label_set: str = 'gzsl',
                 save_frozen_weights: bool = False,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(data_preprocessor=data_preprocessor or dict(
            type='ClsDataPreprocessor'), init_cfg=init_cfg)
        check_label_sets(num_classes, num_seen_classes, label_set)
        if template.count('{}') != 1:
            raise ValueError(f'template needs one "{{}}": {template!r}')
        self.class_names = read_class_names(class_names).names
        if len(self.class_names) != num_classes:
            raise ValueError(f'{len(self.class_names)} class names for '
                             f'num_classes={num_classes}')
        self.num_classes = num_classes
        self.num_seen_classes = num_seen_classes
        self.template = template
        self.label_set = label_set
        self.ot_reg = float(ot_reg)
        self.ot_reg_knowledge = float(ot_reg_knowledge)
        self.marginal_temperature = float(marginal_temperature)
        self.teacher_sharpness = float(teacher_sharpness)
        self.sinkhorn_iters = int(sinkhorn_iters)
        self.sinkhorn_thresh = float(sinkhorn_thresh)

        self.backbone = MODELS.build(backbone)
        if self.backbone.is_resnet:
            raise ValueError('RecoverMatch needs a ViT image tower')
        self.backbone.clip.requires_grad_(False)
        visual = self.backbone.clip.visual
        width = int(visual.conv1.out_channels)
        embed_dim = self.backbone.embed_dim
        depth = self.backbone.num_layers
        self.text_encoder = self.build_text_encoder(None, self.backbone)
        text = self.text_encoder.tower
        text_width = int(text.token_embedding.weight.shape[1])
        text_depth = len(text.transformer.resblocks)
        for name, blocks, most in (('adapter_blocks', adapter_blocks, depth),
                                   ('text_prompt_blocks', text_prompt_blocks,
                                    text_depth)):
            bad = [b for b in blocks if not 0 <= b < most]
            if bad:
                raise ValueError(f'{name} {list(blocks)}: {bad} outside the '
                                 f'tower\'s {most} blocks')
        self.adapters = nn.ModuleDict({
            str(b): LadderLocalAdapter(width, embed_dim, kernel_size)
            for b in adapter_blocks})
        self.adapter_tokens = nn.ParameterDict({
            str(b): nn.Parameter(torch.randn(num_adapter_tokens, width) * 0.02)
            for b in adapter_blocks if num_adapter_tokens > 0})
        self.text_prompts = nn.ParameterDict({
            str(b): nn.Parameter(torch.randn(num_text_prompts, text_width)
                                 * 0.02)
            for b in text_prompt_blocks if num_text_prompts > 0})
        logit_scale = float(self.backbone.clip.logit_scale.exp())
        self.temperature = nn.Parameter(torch.tensor(1.0 / logit_scale))
        self.local_temperature = nn.Parameter(torch.tensor(
            float(local_temperature)))
        self.loss_module = MODELS.build(loss or dict(
            type='MultiMatchingLoss'))
        prompts = [template.format(n) for n in self.class_names]
        self.prompts = prompts
        self.register_buffer('prompt_tokens',
                             self.text_encoder.tokenize(prompts).cpu(),
                             persistent=False)
        self.save_frozen_weights = save_frozen_weights
        if not save_frozen_weights:  # the frozen CLIP: rebuilt from its file
            self.exclude_from_state_dict(('backbone.', ))

    # ------------------------------------------------------------ labels
    def _slice(self, label_set: str) -> slice:
        if label_set not in LABEL_SETS:
            raise ValueError(f'label_set must be one of {LABEL_SETS}')
        return {'seen': slice(0, self.num_seen_classes),
                'unseen': slice(self.num_seen_classes, self.num_classes),
                'all': slice(0, self.num_classes)}[label_set]

    @property
    def logit_scale(self) -> torch.Tensor:
        """The frozen CLIP's (exponentiated) logit scale."""
        return _full(self.backbone.clip.logit_scale.exp().detach())

    def label_features(self, label_set: str) -> torch.Tensor:
        """``[M, D]`` un-normalised label features with the deep prompts."""
        ids = self.prompt_tokens[self._slice(label_set)]
        prompts = {int(k): v for k, v in self.text_prompts.items()}
        return _full(encode_text_deep_prompts(self.text_encoder.tower, ids,
                                              prompts))

    def teacher_label_features(self, label_set: str) -> torch.Tensor:
        """``[M, D]`` frozen CLIP text features (cached)."""
        sl = self._slice(label_set)
        return self.text_encoder.encode(self.prompts[sl]).float()

    # ------------------------------------------------------------ scores
    def set_logits(self, images: torch.Tensor, label_set: str,
                   targets: Optional[torch.Tensor] = None
                   ) -> Tuple[torch.Tensor, torch.Tensor]:
        """Global and matched logits of one label set.

        Args:
            images: ``[B, 3, H, W]``.
            label_set: ``'seen'``, ``'unseen'`` or ``'all'``.
            targets: ``[B, M]`` labels of that set: training (the knowledge
                constraint of the plan); None at test time.

        Returns:
            tuple: ``global [B, M]`` and ``matched [B, M]`` logits.
        """
        labels = self.label_features(label_set)
        adapters = {int(k): m for k, m in self.adapters.items()}
        tokens = {int(k): v for k, v in self.adapter_tokens.items()}
        glb, dense = recover_image(self.backbone, images, labels, adapters,
                                   tokens)
        glb = F.normalize(_full(glb), dim=-1)
        dense = F.normalize(_full(dense), dim=-1)
        labels_n = F.normalize(labels, dim=-1)
        logits_global = glb @ labels_n.t() / self.temperature
        sim = dense @ labels_n.t()
        teacher = None
        if targets is not None:
            with torch.no_grad():
                _, frozen_dense = recover_image(self.backbone, images)
                teacher = teacher_region_distribution(
                    _full(frozen_dense),
                    self.teacher_label_features(label_set).to(dense.dtype),
                    self.logit_scale, self.teacher_sharpness)
        plan = kcot_plan(sim, self.logit_scale, self.ot_reg, teacher,
                         targets, self.ot_reg_knowledge,
                         self.marginal_temperature, self.sinkhorn_iters,
                         self.sinkhorn_thresh)
        return logits_global, matched_logits(plan, sim,
                                             self.local_temperature)

    @staticmethod
    def combine(logits_global: torch.Tensor,
                logits_matched: torch.Tensor) -> torch.Tensor:
        """Scores: the mean of both softmaxes over the scored label set."""
        return (logits_global.softmax(dim=-1)
                + logits_matched.softmax(dim=-1)) / 2.0

    def set_scores(self, images: torch.Tensor,
                   label_set: str) -> torch.Tensor:
        """``[B, M]`` test-time scores of one label set."""
        return self.combine(*self.set_logits(images, label_set))

    # ------------------------------------------------------------ modes
    def forward_tensor(self, inputs: torch.Tensor) -> torch.Tensor:
        """``[B, C]`` scores over all classes."""
        return self.set_scores(inputs, 'all')

    def loss(self, inputs: torch.Tensor,
             data_samples: List[DataSample]) -> Dict[str, torch.Tensor]:
        """MMC losses of the global and the matched logits (seen classes).

        Args:
            inputs: ``[B, 3, H, W]`` images.
            data_samples: With ``gt_score``.

        Returns:
            dict: ``loss_global`` and ``loss_matched``.
        """
        targets = seen_columns(stack_gt_scores(data_samples, inputs.device),
                               self.num_seen_classes, self.num_classes,
                               'gt_score')
        logits_global, logits_matched = self.set_logits(inputs, 'seen',
                                                        targets)
        return dict(loss_global=self.loss_module(logits_global, targets),
                    loss_matched=self.loss_module(logits_matched, targets))

    def train_step(self, data: dict, optim_wrapper: OptimWrapper
                   ) -> Dict[str, torch.Tensor]:
        """One step; several optim wrappers step on one backward.

        The recipe trains the tokens with SGD and the rest with AdamW
        (``ParamSplitOptimWrapperConstructor``); as the reference
        (``processor/processor.py``) they step on one backward
        (:func:`~granzsl_mm.models.multi_optim_step.step_optim_wrappers`).
        A single wrapper: mmengine's step.

        Args:
            data (dict): A batch from the data loader.
            optim_wrapper (OptimWrapper): One wrapper or an
                ``OptimWrapperDict``.

        Returns:
            dict: The logged losses.
        """
        if not isinstance(optim_wrapper, OptimWrapperDict):
            return super().train_step(data, optim_wrapper)
        return step_optim_wrappers(self, data, optim_wrapper)

    @torch.no_grad()
    def predict(self, inputs: torch.Tensor,
                data_samples: Optional[List[DataSample]] = None
                ) -> List[DataSample]:
        """ZSL and GZSL scores, each from its own pass."""
        unseen = None
        if self.num_seen_classes < self.num_classes:
            unseen = self.set_scores(inputs, 'unseen')
        if self.label_set == 'zsl':
            return self.pack_scores(unseen, data_samples)
        return self.pack_scores(self.set_scores(inputs, 'all'), data_samples,
                                zsl_scores=unseen)
