"""GranZSL (ICCV 2025): class names learned from language descriptions.

Training is text-only: CLIP is frozen, the only trainable parameters are the
class-name vectors of :class:`ClassNameLearner`. A batch holds description
sentences and their class indices; sentence embeddings come from the frozen
text tower (cached by ``CLIPTextEncoder``: each sentence is encoded once, not
every step), and the loss is ``sum_b ||c_{y_b} - t_b||^2 + lambda * sum_{i!=j}
(1 + c_i . c_j)``. Test: the backbone's ``'clearclip'`` dense features and
global embedding are compared (cosine) with the learned names of the chosen
label set and pooled into scores (:mod:`granzsl_mm.models.tta.snippets`).
"""
import math
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.logging import MMLogger
from mmpretrain.structures import DataSample

from granzsl_mm.registry import MODELS
from granzsl_mm.structures.class_names import ClassSource, read_class_names

from ..tta.snippets import SCORE_MODES, image_scores
from .base import MultiLabelClassifierBase, check_label_sets

__all__ = ['GranZSL', 'TEST_SELECTION_MARK']

TEST_SELECTION_MARK = '[selected on test set]'
_CLIP_PREFIXES = ('backbone.', 'text_encoder.')


@MODELS.register_module()
class GranZSL(MultiLabelClassifierBase):
    """GranZSL classifier (text-only training, image scoring).

    Args:
        backbone (dict | nn.Module): ``OpenCLIPBackbone`` config (frozen,
            ``dense_mode='clearclip'``) or module.
        name_learner (dict): ``ClassNameLearner`` config; ``num_classes`` and
            ``width`` are filled in when absent.
        num_classes (int): All classes, seen then unseen.
        num_seen_classes (int): How many of them are seen.
        logit_scale (float): ``s`` of the scores (the paper's configs: 20).
        text_encoder (dict | nn.Module, optional): ``CLIPTextEncoder``
            config or module. ``None`` shares the backbone's CLIP model
            (``CLIPTextEncoder.from_clip``).
        alignment_loss (dict, optional): ``NameAlignmentLoss`` config
            (default: weight 1).
        pair_loss (dict, optional): ``PairDistinctLoss`` config (its
            ``loss_weight`` is lambda, set in the configs); ``None`` disables
            the pair term.
        class_names (str | Sequence[str] | Mapping, optional): Names of all
            classes (see :func:`~granzsl_mm.structures.read_class_names`:
            a key such as ``'coco48_17'``, a list or a file), needed only
            by :meth:`set_label_set` with a list of names.
        score_mode (str): ``'both'`` (paper), ``'global'`` or ``'local'``.
        label_set (str | Sequence[str]): Initial label set, see
            :meth:`set_label_set`.
        save_frozen_clip (bool): Keep the frozen CLIP weights in the state
            dict (checkpoints). ``False`` saves only the learned names: the
            CLIP weights come from ``pretrained`` when the model is rebuilt.
        select_on_test (bool): Declare that checkpoints are selected on the
            test set (the reference's protocol). Only logs and marks; the
            config decides what the validation loop evaluates.
        data_preprocessor (dict, optional): Defaults to
            ``TextImageDataPreprocessor``.
        init_cfg (dict, optional): Initialisation config.
    """

    def __init__(self,
                 backbone: Union[dict, nn.Module],
                 name_learner: dict,
                 num_classes: int,
                 num_seen_classes: int,
                 logit_scale: float,
                 text_encoder: Union[dict, nn.Module, None] = None,
                 alignment_loss: Optional[dict] = None,
                 pair_loss: Optional[dict] = None,
                 class_names: Optional[ClassSource] = None,
                 score_mode: str = 'both',
                 label_set: Union[str, Sequence[str]] = 'gzsl',
                 save_frozen_clip: bool = False,
                 select_on_test: bool = False,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        if data_preprocessor is None:
            data_preprocessor = dict(type='TextImageDataPreprocessor')
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        check_label_sets(num_classes, num_seen_classes, min_seen=0)
        if score_mode not in SCORE_MODES:
            raise ValueError(f'score_mode must be one of {SCORE_MODES}')
        if class_names is not None:
            class_names = read_class_names(class_names).names
            if len(class_names) != num_classes:
                raise ValueError(f'{len(class_names)} class_names for '
                                 f'{num_classes} classes')
        self.num_classes = num_classes
        self.num_seen_classes = num_seen_classes
        self.class_names = list(class_names) if class_names else None
        self.logit_scale = float(logit_scale)
        self.score_mode = score_mode
        self.save_frozen_clip = save_frozen_clip
        self.select_on_test = select_on_test

        self.backbone = backbone if isinstance(backbone, nn.Module) \
            else MODELS.build(backbone)
        self.text_encoder = self.build_text_encoder(text_encoder,
                                                    self.backbone)
        for param in list(self.backbone.parameters()) + list(
                self.text_encoder.parameters()):
            param.requires_grad_(False)

        name_learner = dict(name_learner)
        name_learner.setdefault('num_classes', num_classes)
        if 'width' not in name_learner:
            probe = self.text_encoder.tokenize(['x'])
            name_learner['width'] = int(
                self.text_encoder.token_embedding(probe).shape[-1])
        self.name_learner = MODELS.build(name_learner)
        if self.name_learner.num_classes != num_classes:
            raise ValueError('name_learner.num_classes must equal num_classes')
        self.alignment_loss = MODELS.build(
            alignment_loss or dict(type='NameAlignmentLoss'))
        self.pair_loss = MODELS.build(pair_loss) if pair_loss else None

        self._name_cache: Optional[torch.Tensor] = None
        self.set_label_set(label_set)
        if not save_frozen_clip:
            self.exclude_from_state_dict(_CLIP_PREFIXES)
        if select_on_test:
            MMLogger.get_current_instance().warning(
                f'{TEST_SELECTION_MARK} model selection on the test set is '
                'enabled (the reference protocol): results are optimistic.')

    # ------------------------------------------------------------ label sets
    def set_label_set(self, label_set: Union[str, Sequence[str]]) -> None:
        """Choose which classes :meth:`predict` scores.

        Args:
            label_set (str | Sequence[str]): ``'gzsl'``: all classes
                (``pred_score``), plus ``pred_score_zsl`` over the unseen
                ones; ``'zsl'``: ``pred_score`` over the unseen classes only;
                a list of class names: ``pred_score`` over them, in order.
        """
        if isinstance(label_set, str):
            if label_set == 'gzsl':
                indices = list(range(self.num_classes))
            elif label_set == 'zsl':
                indices = list(range(self.num_seen_classes, self.num_classes))
            else:
                raise ValueError("label_set must be 'zsl', 'gzsl' or a list of "
                                 f'class names, got {label_set!r}')
        else:
            if self.class_names is None:
                raise ValueError('set class_names to choose labels by name')
            unknown = [n for n in label_set if n not in self.class_names]
            if unknown:
                raise ValueError(f'unknown class names: {unknown}')
            indices = [self.class_names.index(n) for n in label_set]
        self.label_set = label_set if isinstance(label_set, str) else list(
            label_set)
        self.label_indices = indices

    # ------------------------------------------------------------- embedding
    def class_name_embeddings(self) -> torch.Tensor:
        """``[C, D]`` normalised learned class-name embeddings (all classes).

        Cached outside training (no gradient); recomputed while training.
        """
        if self.training or torch.is_grad_enabled():
            if not self.training:
                self._name_cache = None
            return self.name_learner(self.text_encoder)
        if self._name_cache is None:
            self._name_cache = self.name_learner(self.text_encoder)
        return self._name_cache

    def train(self, mode: bool = True) -> 'GranZSL':
        """Switch mode; keeps the frozen CLIP in eval and clears the cache."""
        super().train(mode)
        self.backbone.eval()
        self.text_encoder.eval()
        self._name_cache = None
        return self

    def extract_feat(self, images: torch.Tensor
                     ) -> Tuple[torch.Tensor, Optional[torch.Tensor]]:
        """``(global [N, D], dense [N, P, D] or None)`` of the frozen CLIP
        image tower (MMPretrain's ``extract_feat``).

        Args:
            images (torch.Tensor): ``[N, 3, H, W]`` preprocessed images.

        Returns:
            tuple: The backbone's global and dense features.
        """
        return self.backbone(images)

    def view_cosines(self, images: torch.Tensor,
                     indices: Optional[Sequence[int]] = None
                     ) -> Tuple[Optional[torch.Tensor], torch.Tensor]:
        """Cosine maps and global cosines of images against learned names.

        Args:
            images (torch.Tensor): ``[N, 3, H, W]`` preprocessed images (all
                views of a batch at once).
            indices (Sequence[int], optional): Classes to score; defaults to
                the current label set.

        Returns:
            tuple: ``[N, C, h, w]`` local cosines (``None`` when the backbone
            has no dense mode) and ``[N, C]`` global cosines.
        """
        indices = self.label_indices if indices is None else list(indices)
        names = self.class_name_embeddings()[indices].to(images.device)
        global_feat, dense = self.extract_feat(images)
        global_cos = F.normalize(global_feat, dim=-1) @ names.t()
        if dense is None:
            return None, global_cos
        # plain ints: under a jit trace (FLOP counting) sizes are tensors
        num, pos = int(dense.shape[0]), int(dense.shape[1])
        side = math.isqrt(pos)
        if side * side != pos:
            raise ValueError(f'{pos} dense positions do not form a square map')
        local = F.normalize(dense, dim=-1) @ names.t()  # [N, P, C]
        local = local.transpose(1, 2).reshape(num, len(indices), side, side)
        return local, global_cos

    # ----------------------------------------------------------------- modes
    def forward_tensor(self, inputs: Union[torch.Tensor, List[str]]
                       ) -> torch.Tensor:
        """Scores of images, or sentence embeddings of a list of strings."""
        if isinstance(inputs, torch.Tensor):
            local, glob = self.view_cosines(inputs)
            return self._scores(local, glob)
        return self.text_encoder.encode(list(inputs))

    def loss(self, inputs: List[str],
             data_samples: List[DataSample]) -> Dict[str, torch.Tensor]:
        """Alignment (+ pair) losses of a batch of description sentences.

        Args:
            inputs (list[str]): Sentences.
            data_samples (list[DataSample]): Their ``gt_label`` (class index).

        Returns:
            dict[str, torch.Tensor]: ``loss_align`` and ``loss_pair``.
        """
        if isinstance(inputs, torch.Tensor):
            raise TypeError('GranZSL trains on sentences, got an image batch; '
                            'use a ClassDescriptionDataset train dataloader')
        targets = torch.cat([ds.gt_label.reshape(-1)[:1] for ds in data_samples])
        with torch.no_grad():
            sent = self.text_encoder.encode(list(inputs))
        names = self.name_learner(self.text_encoder)
        targets = targets.to(names.device)
        losses = dict(loss_align=self.alignment_loss(names, sent.to(names),
                                                     targets))
        if self.pair_loss is not None:
            losses['loss_pair'] = self.pair_loss(names)
        return losses

    def _scores(self, local: Optional[torch.Tensor],
                glob: torch.Tensor) -> torch.Tensor:
        if local is None:
            if self.score_mode != 'global':
                raise ValueError("the backbone returns no dense features; use "
                                 "dense_mode='clearclip' or score_mode='global'")
            return self.logit_scale * glob
        return image_scores(local, glob, self.logit_scale, self.score_mode)

    @torch.no_grad()
    def predict(self, inputs: torch.Tensor,
                data_samples: Optional[List[DataSample]] = None
                ) -> List[DataSample]:
        """Score images against the learned names of the label set."""
        local, glob = self.view_cosines(inputs)
        return self.pack_predictions(self._scores(local, glob), data_samples)

    def pack_predictions(self, scores: torch.Tensor,
                         data_samples: Optional[List[DataSample]] = None
                         ) -> List[DataSample]:
        """Write ``pred_score`` (and ``pred_score_zsl`` for GZSL) per image.

        Args:
            scores (torch.Tensor): ``[B, len(label set)]`` scores.
            data_samples (list[DataSample], optional): Samples to fill.

        Returns:
            list[DataSample]: The filled samples.
        """
        zsl = scores[:, self.num_seen_classes:] \
            if self.label_set == 'gzsl' else None
        meta = dict(model_selection=TEST_SELECTION_MARK) \
            if self.select_on_test else None
        return self.pack_scores(scores, data_samples, zsl, meta)
