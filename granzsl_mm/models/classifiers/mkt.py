"""MKT (He et al., AAAI 2023), stage 1: open-vocabulary multi-label
classification by multi-modal knowledge transfer; also the base of SigRL.

Image side: CLIP's ViT with only the last blocks trainable (index >= 10 for
ViT-B/16, plus ``ln_post`` and ``proj``; layer-wise lr decay 0.65 in the
configs). All tokens go through ``ln_post`` and ``proj``: the CLS token is the
global embedding, the patch tokens the local ones. Label side: frozen CLIP
text embeddings of "There is a {} in the scene" (no period: MKT's stage-2
prompt, and per its author the template of the released stage-1
``label_emb.pt``, whose generating code is not in the repository;
L2-normalised; computed once and cached by ``CLIPTextEncoder``).

Scores of a label set (:mod:`granzsl_mm.models.classifiers.mkt_scores`) are
normalised across the classes of the scored set, so the scores of the GZSL
set (all classes) and of the ZSL set (unseen only) differ: at test time the
model emits both, ``pred_score`` (all classes) and ``pred_score_zsl`` (unseen
only), as the reference computes them.

Training (seen classes only): BiAM's ranking loss on the seen scores plus an
L1 distillation between the CLS embedding and the frozen CLIP image embedding
of the same image (weight 1, :class:`FrozenTailTeacher`). Images without a
seen positive are left out by the dataset (``empty_images='drop'``), never by
shrinking a batch. Single-positive (SPML) mode (``spml_loss``): see
:mod:`granzsl_mm.models.classifiers.mkt_spml`.

Documented choices where the reference is silent or ambiguous:

* The frozen teacher shares the student's frozen trunk (see
  :mod:`granzsl_mm.models.classifiers.mkt_teacher`).
* The label embeddings are L2-normalised CLIP text features (the reference
  loads a precomputed ``label_emb.pt``).
* The CLIP text tower is always frozen (the label embeddings are fixed CLIP
  features, as the reference's precomputed ones), whatever the backbone's
  ``frozen`` flag says about the image tower.
"""
from typing import Dict, List, Optional, Tuple

import torch
from mmpretrain.structures import DataSample

from granzsl_mm.registry import MODELS
from granzsl_mm.structures.class_names import ClassSource, read_class_names
from granzsl_mm.structures.prompts import MKT_TEMPLATE

from .base import MultiLabelClassifierBase, check_label_sets
from .mkt_scores import mkt_local_scores, normalized_average_scores
from .mkt_spml import log_score_scale, seen_columns, stack_gt_scores, stack_soft_targets
from .mkt_teacher import FrozenTailTeacher

__all__ = ['MKT', 'mkt_local_scores', 'normalized_average_scores']

_TEXT_PREFIX = 'backbone.clip.'
_VISUAL_PREFIX = 'backbone.clip.visual.'
_TEACHER_PREFIX = 'teacher.'


@MODELS.register_module()
class MKT(MultiLabelClassifierBase):
    """MKT stage 1 (and the base of SigRL).

    Args:
        backbone (dict): ``OpenCLIPBackbone`` config with
            ``trainable_blocks_from`` (10 for ViT-B/16).
        num_classes (int): All classes, seen then unseen.
        num_seen_classes (int): How many of them are seen.
        class_names: Names of all classes in label order, see
            :func:`~granzsl_mm.structures.read_class_names`.
        template (str): Prompt of the label embeddings (MKT's, without a
            period).
        topk (int): Patches averaged by the local score.
        local_head (dict, optional): A head replacing the plain top-k local
            score (SigRL's ``SigRLHead``); called as
            ``head(patches, labels) -> [B, C]``.
        rank_loss (dict, optional): Ranking-loss config (None: BiAM's
            ``RankingLoss``, or no ranking loss in SPML mode).
        distill_loss (dict, optional): L1 distillation config (None: off).
        spml_loss (dict, optional): SPML mode: a loss called as
            ``loss(logits, targets, soft_targets=..., avg_factor=B)`` on the
            seen classes (``SPMLLoss``, ``MaskedBCELoss``); None: off.
        score_scale (float): SPML mode: initial logit scale ``s`` of the
            normalised scores (logits ``s * score``); 1 as the reference.
        learnable_score_scale (bool): SPML mode: learn ``log s``.
        label_set (str): ``'gzsl'`` (``pred_score`` over all classes and,
            when there are unseen classes, ``pred_score_zsl`` over them) or
            ``'zsl'`` (``pred_score`` over the unseen classes).
        save_frozen_weights (bool): Keep the frozen text tower and teacher in
            checkpoints (False: they are rebuilt from ``pretrained``).
        data_preprocessor (dict, optional): Defaults to MMPretrain's
            ``ClsDataPreprocessor``.
        init_cfg (dict, optional): Initialisation config.
    """

    def __init__(self,
                 backbone: dict,
                 num_classes: int,
                 num_seen_classes: int,
                 class_names: ClassSource,
                 template: str = MKT_TEMPLATE,
                 topk: int = 16,
                 local_head: Optional[dict] = None,
                 rank_loss: Optional[dict] = None,
                 distill_loss: Optional[dict] = None,
                 spml_loss: Optional[dict] = None,
                 score_scale: float = 1.0,
                 learnable_score_scale: bool = False,
                 label_set: str = 'gzsl',
                 save_frozen_weights: bool = False,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(data_preprocessor=data_preprocessor or dict(
            type='ClsDataPreprocessor'), init_cfg=init_cfg)
        check_label_sets(num_classes, num_seen_classes, label_set)
        if not score_scale > 0:
            raise ValueError(f'score_scale must be > 0, got {score_scale}')
        if template.count('{}') != 1:
            raise ValueError(f'template needs one "{{}}": {template!r}')
        self.class_names = read_class_names(class_names).names
        if len(self.class_names) != num_classes:
            raise ValueError(f'{len(self.class_names)} class names for '
                             f'num_classes={num_classes}')
        self.num_classes = num_classes
        self.num_seen_classes = num_seen_classes
        self.template = template
        self.topk = int(topk)
        self.label_set = label_set
        self.save_frozen_weights = save_frozen_weights

        self.backbone = MODELS.build(backbone)
        visual = self.backbone.clip.visual
        start = self.backbone.trainable_blocks_from
        if start is None:
            start = self.backbone.num_layers if self.backbone.frozen else 0
        self.split_block = int(start)
        for name, param in self.backbone.clip.named_parameters():
            if not name.startswith('visual.'):  # frozen label embeddings
                param.requires_grad_(False)
        self.text_encoder = self.build_text_encoder(None, self.backbone)
        self.local_head = MODELS.build(local_head) if local_head else None
        self.spml_loss = MODELS.build(spml_loss) if spml_loss else None
        if self.spml_loss is None:
            rank_loss = rank_loss or dict(type='RankingLoss')
        self.rank_loss = MODELS.build(rank_loss) if rank_loss else None
        if self.spml_loss is not None:
            if not getattr(self.spml_loss, 'use_sigmoid', True):
                raise ValueError('spml_loss receives logits: keep its '
                                 'use_sigmoid=True')
            log_scale = log_score_scale(score_scale, learnable_score_scale)
            if learnable_score_scale:
                self.log_score_scale = log_scale
            else:
                self.register_buffer('log_score_scale', log_scale)
        self.distill_loss = MODELS.build(distill_loss) if distill_loss \
            else None
        self.teacher = None
        if self.distill_loss is not None:
            if self.split_block == 0 and visual.conv1.weight.requires_grad:
                raise ValueError('the distillation teacher reuses the frozen '
                                 'trunk: freeze the blocks below '
                                 '`trainable_blocks_from`')
            self.teacher = FrozenTailTeacher(visual, self.split_block)
        if not save_frozen_weights:  # the frozen text tower and teacher
            self.exclude_from_state_dict((_TEACHER_PREFIX, _TEXT_PREFIX),
                                         keep=(_VISUAL_PREFIX, ))

    # ------------------------------------------------------------ labels
    def label_embeddings(self) -> torch.Tensor:
        """``[num_classes, D]`` normalised label embeddings (frozen text;
        ``CLIPTextEncoder``'s cache encodes each prompt once per weights)."""
        device = self.backbone.clip.visual.proj.device
        return self.text_encoder.encode_with_templates(
            self.class_names, [self.template]).float().to(device)

    def train(self, mode: bool = True) -> 'MKT':
        """Switch mode; the frozen teacher stays in eval mode."""
        super().train(mode)
        if self.teacher is not None:
            self.teacher.eval()
        return self

    # ------------------------------------------------------------ image
    def extract_feat(self, images: torch.Tensor, with_teacher: bool = False
                     ) -> Tuple[torch.Tensor, torch.Tensor,
                                Optional[torch.Tensor]]:
        """CLS and patch embeddings (and the teacher's CLS embedding).

        Args:
            images (torch.Tensor): ``[B, 3, H, W]``.
            with_teacher (bool): Also run the frozen teacher tail.

        Returns:
            tuple: ``cls [B, D]``, ``patches [B, P, D]`` and the teacher's
            ``[B, D]`` (None unless asked).
        """
        backbone = self.backbone
        trunk_frozen = not any(
            p.requires_grad for p in backbone.trunk_parameters(
                self.split_block))
        with torch.set_grad_enabled(torch.is_grad_enabled()
                                    and not trunk_frozen):
            trunk = backbone.forward_tokens(images, stop=self.split_block)
        x = backbone.forward_blocks(trunk, self.split_block)
        tokens = backbone.project_tokens(x).float()
        teacher = None
        if with_teacher and self.teacher is not None:
            teacher = self.teacher(trunk)
        return tokens[:, 0], tokens[:, 1:], teacher

    def head_scores(self, cls: torch.Tensor, patches: torch.Tensor,
                    labels: torch.Tensor) -> torch.Tensor:
        """Scores of one label set (normalised across its classes)."""
        if self.local_head is not None:
            local = self.local_head(patches, labels)
        else:
            local = mkt_local_scores(patches, labels, self.topk)
        return normalized_average_scores(local, cls @ labels.t())

    # ------------------------------------------------------------ modes
    def forward_tensor(self, inputs: torch.Tensor) -> torch.Tensor:
        """``[B, C]`` scores over all classes (normalised across them)."""
        cls, patches, _ = self.extract_feat(inputs)
        return self.head_scores(cls, patches, self.label_embeddings())

    def seen_targets(self, data_samples: List[DataSample],
                     device: torch.device) -> torch.Tensor:
        """``[B, num_seen]`` targets in {1, 0, -1} from ``gt_score``."""
        return seen_columns(stack_gt_scores(data_samples, device),
                            self.num_seen_classes, self.num_classes,
                            'gt_score')

    def seen_soft_targets(self, data_samples: List[DataSample],
                          device: torch.device) -> Optional[torch.Tensor]:
        """``[B, num_seen]`` float ``soft_targets`` (NaN where none; a sample
        without the field is all NaN), or None when no sample has any."""
        soft = stack_soft_targets(data_samples, device)
        if soft is None:
            return None
        return seen_columns(soft, self.num_seen_classes, self.num_classes,
                            'soft_targets')

    @property
    def score_scale(self) -> Optional[torch.Tensor]:
        """SPML mode: the logit scale ``s`` (None outside SPML mode)."""
        if self.spml_loss is None:
            return None
        return self.log_score_scale.exp()

    def loss(self, inputs: torch.Tensor,
             data_samples: List[DataSample]) -> Dict[str, torch.Tensor]:
        """Ranking and / or SPML loss on the seen classes (+ distillation).

        Args:
            inputs (torch.Tensor): ``[B, 3, H, W]`` images.
            data_samples (list[DataSample]): With ``gt_score`` (and, in SPML
                mode, optionally ``soft_targets``).

        Returns:
            dict[str, torch.Tensor]: ``loss_rank`` and / or ``loss_spml``
            (and ``loss_distill``).
        """
        cls, patches, teacher = self.extract_feat(
            inputs, with_teacher=self.distill_loss is not None)
        labels = self.label_embeddings()[:self.num_seen_classes]
        scores = self.head_scores(cls, patches, labels)
        targets = self.seen_targets(data_samples, scores.device)
        losses = {}
        if self.rank_loss is not None:
            losses['loss_rank'] = self.rank_loss(scores, targets)
        if self.spml_loss is not None:
            soft = self.seen_soft_targets(data_samples, scores.device)
            extra = {} if soft is None else dict(soft_targets=soft)
            losses['loss_spml'] = self.spml_loss(
                self.score_scale * scores, targets.to(scores.dtype),
                avg_factor=scores.shape[0], **extra)
        if self.distill_loss is not None:
            losses['loss_distill'] = self.distill_loss(cls, teacher)
        return losses

    @torch.no_grad()
    def predict(self, inputs: torch.Tensor,
                data_samples: Optional[List[DataSample]] = None
                ) -> List[DataSample]:
        """GZSL and ZSL scores (each normalised over its own label set; the
        ZSL set is skipped when there are no unseen classes). SPML mode:
        ``sigmoid(s * score)``."""
        cls, patches, _ = self.extract_feat(inputs)
        labels = self.label_embeddings()
        unseen = gzsl = None
        if self.num_seen_classes < self.num_classes:
            unseen = self.head_scores(cls, patches,
                                      labels[self.num_seen_classes:])
        if self.label_set == 'gzsl':
            gzsl = self.head_scores(cls, patches, labels)
        if self.spml_loss is not None:
            unseen, gzsl = ((self.score_scale * x).sigmoid()
                            if x is not None else None
                            for x in (unseen, gzsl))
        if gzsl is None:
            return self.pack_scores(unseen, data_samples)
        return self.pack_scores(gzsl, data_samples, zsl_scores=unseen)

    # ------------------------------------------------------------ optim
    def get_layer_depth(self, param_name: str,
                        prefix: str = '') -> Tuple[int, int]:
        """Layer id for MMPretrain's layer-wise lr decay: the backbone's
        depths; every head parameter gets the top layer (scale 1)."""
        name = param_name[len(prefix):]
        if name.startswith('backbone.'):
            return self.backbone.get_layer_depth(name, 'backbone.')
        max_layer_id = self.backbone.num_layers + 2
        return max_layer_id - 1, max_layer_id

