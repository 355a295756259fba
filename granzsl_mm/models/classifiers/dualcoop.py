"""DualCoOp (Sun et al., NeurIPS 2022): dual learned prompts with
class-specific region aggregation, for zero-shot and partial-label
multi-label recognition.

Reference: ``sunxm2357/DualCoOp`` (``models/dualcoop.py: DualCoop``,
``utils/trainers.py: train_coop``, ``train_zsl.py``, ``val_zsl.py``).

* Text side: two CoOp prompts per class, a positive and a negative one
  ("X ... X {name}."), whose context vectors are learned and shared by all
  classes (optionally one set per class), through the frozen CLIP text tower
  (:class:`~granzsl_mm.models.heads.ContextPromptLearner`).
* Image side: the frozen CLIP image tower's region tokens
  (``OpenCLIPBackbone.forward_regions``: for a ResNet, the attention pool's
  value / output projections at the mean position and every feature-map
  position, as DualCoOp's encoder), L2-normalised.
* Class-specific region aggregation: ``s = 20 * <region, prompt>``; per class,
  a softmax over the regions of the positive prompt's similarities weights
  both prompts' similarities; the logits are ``5 * sum(weight * s)``, a
  ``[B, 2, C]`` pair (negative, positive) per class.
* Score: the softmax over the pair, the positive's probability. Each class is
  scored on its own, so the scores of all classes give the unseen classes'
  scores by slicing (``pred_score``; the metric takes the unseen columns).
* Training (seen classes only): :class:`DualAsymmetricLoss` on the pairs;
  with ``train_classes_per_step`` a random subset of the seen classes per
  step (the reference's ``num_train_cls``, 100 by default, which NUS-WIDE's
  925 seen classes exceed).
"""
from typing import Dict, List, Optional, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmpretrain.structures import DataSample

from granzsl_mm.registry import MODELS
from granzsl_mm.structures.class_names import ClassSource, read_class_names

from .base import MultiLabelClassifierBase, check_label_sets
from .mkt_spml import seen_columns, stack_gt_scores

__all__ = ['DualCoOp', 'region_aggregated_logits', 'set_up_frozen_clip']


def region_aggregated_logits(regions: torch.Tensor, negative: torch.Tensor,
                             positive: torch.Tensor,
                             region_scale: float = 20.0,
                             output_scale: float = 5.0) -> torch.Tensor:
    """DualCoOp's class-specific region feature aggregation.

    Args:
        regions (torch.Tensor): ``[B, N, D]`` L2-normalised region tokens.
        negative (torch.Tensor): ``[C, D]`` normalised negative prompts.
        positive (torch.Tensor): ``[C, D]`` normalised positive prompts.
        region_scale (float): Scale of the region-prompt cosines (20).
        output_scale (float): Scale of the aggregated logits (5).

    Returns:
        torch.Tensor: ``[B, 2, C]`` logits, index 0 negative, 1 positive.
    """
    sim = region_scale * torch.einsum('bnd,kd->bkn', regions,
                                      torch.cat([negative, positive]))
    num = positive.shape[0]
    weight = sim[:, num:].softmax(dim=-1)  # over the regions, per class
    logits = output_scale * (sim * torch.cat([weight, weight], 1)).sum(-1)
    return logits.view(logits.shape[0], 2, num)


def set_up_frozen_clip(model: nn.Module, backbone: dict,
                       class_names: ClassSource, num_classes: int,
                       save_frozen_weights: bool, **learner) -> dict:
    """The frozen CLIP of a prompt learner on frozen towers (DualCoOp,
    TaI-DPT): sets ``class_names``, ``num_classes``, ``backbone`` (frozen)
    and ``text_encoder`` (sharing its CLIP) on ``model``.

    Args:
        model (nn.Module): A ``MultiLabelClassifierBase`` being built.
        backbone (dict): ``OpenCLIPBackbone`` config.
        class_names: Names of all classes in label order, see
            :func:`~granzsl_mm.structures.read_class_names`.
        num_classes (int): All classes.
        save_frozen_weights (bool): Keep the frozen CLIP in checkpoints.
        **learner: Further ``ContextPromptLearner`` arguments.

    Returns:
        dict: The ``ContextPromptLearner`` config of the model's prompts.

    Raises:
        ValueError: The number of names differs from ``num_classes``.
    """
    model.class_names = read_class_names(class_names).names
    if len(model.class_names) != num_classes:
        raise ValueError(f'{len(model.class_names)} class names for '
                         f'num_classes={num_classes}')
    model.num_classes = num_classes
    model.backbone = MODELS.build(backbone)
    model.backbone.clip.requires_grad_(False)
    model.backbone.frozen = True
    model.text_encoder = model.build_text_encoder(None, model.backbone)
    if not save_frozen_weights:
        model.exclude_from_state_dict(('backbone.', ))
    return dict(type='ContextPromptLearner', text_encoder=model.text_encoder,
                class_names=model.class_names, **learner)


@MODELS.register_module()
class DualCoOp(MultiLabelClassifierBase):
    """DualCoOp on a frozen CLIP.

    Args:
        backbone (dict): ``OpenCLIPBackbone`` config (DualCoOp: RN50 / RN101;
            a ViT uses its projected tokens, CLS first).
        num_classes (int): All classes, seen then unseen.
        num_seen_classes (int): How many of them are seen (trained on).
        class_names: Names of all classes in label order, see
            :func:`~granzsl_mm.structures.read_class_names`.
        num_context_tokens (int): Positive context length (reference
            ``N_CTX_POS``).
        num_negative_context_tokens (int, optional): Negative context length
            (``N_CTX_NEG``; None: as the positive).
        class_specific (bool): One context per class (``CSC``; not for the
            zero-shot setting, whose unseen classes never train theirs).
        init_std (float): Random initialisation of the contexts.
        positive_init (str, optional): Words initialising the positive
            context (``POSITIVE_PROMPT_INIT``).
        negative_init (str, optional): Same for the negative one.
        region_scale (float): Scale of region-prompt cosines (20).
        output_scale (float): Scale of the aggregated logits (5).
        loss (dict): Loss on the ``[B, 2, C]`` logits and ``[B, C]`` targets.
        train_classes_per_step (int, optional): Random seen classes per
            training step when there are more (reference ``num_train_cls``).
        save_frozen_weights (bool): Keep the frozen CLIP in checkpoints.
        data_preprocessor (dict, optional): Defaults to MMPretrain's
            ``ClsDataPreprocessor``.
        init_cfg (dict, optional): Initialisation config.
    """

    def __init__(self,
                 backbone: dict,
                 num_classes: int,
                 num_seen_classes: int,
                 class_names: ClassSource,
                 num_context_tokens: int = 16,
                 num_negative_context_tokens: Optional[int] = None,
                 class_specific: bool = False,
                 init_std: float = 0.02,
                 positive_init: Optional[str] = None,
                 negative_init: Optional[str] = None,
                 region_scale: float = 20.0,
                 output_scale: float = 5.0,
                 loss: Optional[dict] = None,
                 train_classes_per_step: Optional[int] = None,
                 save_frozen_weights: bool = False,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(data_preprocessor=data_preprocessor or dict(
            type='ClsDataPreprocessor'), init_cfg=init_cfg)
        check_label_sets(num_classes, num_seen_classes)
        if train_classes_per_step is not None and train_classes_per_step < 1:
            raise ValueError('train_classes_per_step must be >= 1, got '
                             f'{train_classes_per_step}')
        learner = set_up_frozen_clip(self, backbone, class_names,
                                     num_classes, save_frozen_weights,
                                     class_specific=class_specific,
                                     init_std=init_std)
        self.num_seen_classes = num_seen_classes
        self.region_scale = region_scale
        self.output_scale = output_scale
        self.train_classes_per_step = train_classes_per_step
        self.positive_prompt = MODELS.build(dict(
            learner, num_tokens=num_context_tokens, init_words=positive_init))
        self.negative_prompt = MODELS.build(dict(
            learner, num_tokens=num_negative_context_tokens or
            num_context_tokens, init_words=negative_init))
        self.loss_module = MODELS.build(loss or dict(
            type='DualAsymmetricLoss'))

    def train(self, mode: bool = True) -> 'DualCoOp':
        """Switch mode; the frozen CLIP stays in eval mode (its batch norms
        keep their statistics, as the reference's ``model.eval()``)."""
        super().train(mode)
        self.backbone.clip.eval()
        return self

    # ------------------------------------------------------------ forward
    def regions(self, images: torch.Tensor) -> torch.Tensor:
        """``[B, N, D]`` L2-normalised region tokens of the frozen tower."""
        with torch.no_grad():
            _, regions = self.backbone.forward_regions(images)
        # half-precision towers: aggregate in float32 (float64 stays)
        return F.normalize(regions.to(torch.promote_types(
            regions.dtype, torch.float32)), dim=-1)

    def logits(self, images: torch.Tensor,
               indices: Optional[Sequence[int]] = None) -> torch.Tensor:
        """``[B, 2, C']`` (negative, positive) logits of the chosen classes.

        Args:
            images (torch.Tensor): ``[B, 3, H, W]``.
            indices (Sequence[int], optional): Classes (default: all).

        Returns:
            torch.Tensor: The logits.
        """
        regions = self.regions(images)
        negative = self.negative_prompt(self.text_encoder, indices)
        positive = self.positive_prompt(self.text_encoder, indices)
        return region_aggregated_logits(
            regions, negative.to(regions), positive.to(regions),
            self.region_scale, self.output_scale)

    def forward_tensor(self, inputs: torch.Tensor) -> torch.Tensor:
        """``[B, C]`` scores over all classes (positive probabilities)."""
        return self.logits(inputs).softmax(dim=1)[:, 1]

    def training_classes(self, device: torch.device) -> torch.Tensor:
        """The seen classes of one training step (a random subset of
        ``train_classes_per_step`` when there are more)."""
        num = self.num_seen_classes
        if self.train_classes_per_step is None or \
                num <= self.train_classes_per_step:
            return torch.arange(num, device=device)
        return torch.randperm(num)[:self.train_classes_per_step].to(device)

    def loss(self, inputs: torch.Tensor,
             data_samples: List[DataSample]) -> Dict[str, torch.Tensor]:
        """Asymmetric loss on the seen classes.

        Args:
            inputs (torch.Tensor): ``[B, 3, H, W]`` images.
            data_samples (list[DataSample]): With ``gt_score``.

        Returns:
            dict[str, torch.Tensor]: ``loss_asl``.
        """
        targets = seen_columns(stack_gt_scores(data_samples, inputs.device),
                               self.num_seen_classes, self.num_classes,
                               'gt_score')
        classes = self.training_classes(inputs.device)
        logits = self.logits(inputs, classes.tolist())
        return dict(loss_asl=self.loss_module(logits, targets[:, classes]))

    @torch.no_grad()
    def predict(self, inputs: torch.Tensor,
                data_samples: Optional[List[DataSample]] = None
                ) -> List[DataSample]:
        """``pred_score`` over all classes (each scored on its own: the
        unseen columns are the ZSL scores)."""
        return self.pack_scores(self.forward_tensor(inputs), data_samples)
