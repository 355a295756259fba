"""Plumbing shared by the multi-label classifiers of granzsl_mm.

:class:`GranZSL`, :class:`ZeroShotMultiLabelClassifier` and :class:`MKT`
(with SigRL and MKT stage 2) score images against class embeddings from a
CLIP text tower. What they have in common lives here:

* the text encoder defaulting (share the backbone's CLIP, build a config or
  take a module), see :meth:`MultiLabelClassifierBase.build_text_encoder`;
* MMEngine's mode dispatch (``'loss'`` / ``'predict'`` / ``'tensor'``);
* packing scores into data samples: ``pred_score`` over the scored label set
  and, when a method scores the unseen classes separately or as a slice,
  ``pred_score_zsl`` (the data sample contract of ``docs/architecture.md``);
* state-dict hooks that leave frozen weights (CLIP towers, a distillation
  teacher) out of checkpoints; they are rebuilt from ``pretrained``.
"""
import functools
from typing import Dict, List, Optional, Sequence, Union

import torch
import torch.nn as nn
from mmengine.model import BaseModel
from mmpretrain.structures import DataSample

from granzsl_mm.registry import MODELS

__all__ = ['MultiLabelClassifierBase', 'drop_state_dict_keys',
           'check_label_sets']

LABEL_SETS = ('gzsl', 'zsl')


def check_label_sets(num_classes: int, num_seen_classes: int,
                     label_set: Optional[str] = None,
                     min_seen: int = 1) -> None:
    """Refuse class counts (seen first, then unseen) and a scored label set
    that do not fit together.

    Args:
        num_classes (int): All classes.
        num_seen_classes (int): The first ``num_seen_classes`` are seen.
        label_set (str, optional): ``'gzsl'`` or ``'zsl'`` (None: not
            checked); ``'zsl'`` needs unseen classes.
        min_seen (int): Fewest seen classes (0 for a model that may score
            unseen classes only).

    Raises:
        ValueError: Naming the bad value.
    """
    if not min_seen <= num_seen_classes <= num_classes:
        raise ValueError(f'num_seen_classes={num_seen_classes} must lie in '
                         f'[{min_seen}, num_classes={num_classes}]')
    if label_set is None:
        return
    if label_set not in LABEL_SETS:
        raise ValueError(f'label_set must be one of {LABEL_SETS}, got '
                         f'{label_set!r}')
    if label_set == 'zsl' and num_seen_classes == num_classes:
        raise ValueError("label_set='zsl' needs unseen classes "
                         '(num_seen_classes < num_classes)')


def drop_state_dict_keys(module: nn.Module, state_dict: dict, prefix: str,
                         local_metadata: dict, drop: Sequence[str] = (),
                         keep: Sequence[str] = ()) -> dict:
    """State-dict hook: delete the keys under ``drop`` (but not ``keep``).

    Args:
        module (nn.Module): The module whose state dict is being built.
        state_dict (dict): The state dict (changed in place).
        prefix (str): Prefix of ``module`` in the full state dict.
        local_metadata (dict): Unused (hook signature).
        drop (Sequence[str]): Key prefixes, relative to ``module``, to drop.
        keep (Sequence[str]): Key prefixes, relative to ``module``, kept even
            when they fall under ``drop``.

    Returns:
        dict: The state dict.
    """
    drop = tuple(prefix + p for p in drop)
    keep = tuple(prefix + p for p in keep)
    for key in list(state_dict):
        if key.startswith(drop) and not (keep and key.startswith(keep)):
            del state_dict[key]
    return state_dict


class MultiLabelClassifierBase(BaseModel):
    """Base of the CLIP-based multi-label classifiers.

    Subclasses implement :meth:`loss`, :meth:`predict` and
    :meth:`forward_tensor`; they typically call :meth:`build_text_encoder`,
    :meth:`pack_scores` and :meth:`exclude_from_state_dict`.

    Args:
        data_preprocessor (dict | nn.Module, optional): The data
            preprocessor (its default is the subclass's choice).
        init_cfg (dict, optional): Initialisation config.
    """

    def __init__(self,
                 data_preprocessor: Union[dict, nn.Module, None] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(data_preprocessor=data_preprocessor,
                         init_cfg=init_cfg)

    # ------------------------------------------------------------ building
    @staticmethod
    def build_text_encoder(text_encoder: Union[dict, nn.Module, None],
                           backbone: nn.Module) -> nn.Module:
        """The CLIP text encoder of a classifier.

        Args:
            text_encoder (dict | nn.Module, optional): A module (used as it
                is), a ``CLIPTextEncoder`` config, or None: share the
                backbone's CLIP (``CLIPTextEncoder.from_clip``).
            backbone (nn.Module): The image backbone (``.clip`` and
                ``.tokenizer`` when ``text_encoder`` is None).

        Returns:
            nn.Module: The text encoder.

        Raises:
            ValueError: ``text_encoder`` is None and the backbone has no
                CLIP model.
        """
        if isinstance(text_encoder, nn.Module):
            return text_encoder
        if text_encoder is None:
            if not hasattr(backbone, 'clip'):
                raise ValueError('a backbone without `.clip` needs an explicit '
                                 'text_encoder=dict(type="CLIPTextEncoder")')
            return MODELS.get('CLIPTextEncoder').from_clip(
                backbone.clip, backbone.tokenizer)
        return MODELS.build(text_encoder)

    def exclude_from_state_dict(self, drop: Sequence[str],
                                keep: Sequence[str] = ()) -> None:
        """Leave frozen weights out of :meth:`state_dict` (checkpoints).

        Args:
            drop (Sequence[str]): Key prefixes to leave out, e.g.
                ``('backbone.', 'text_encoder.')``.
            keep (Sequence[str]): Prefixes kept inside the dropped ones,
                e.g. ``('backbone.clip.visual.', )``.
        """
        self._register_state_dict_hook(functools.partial(
            drop_state_dict_keys, drop=tuple(drop), keep=tuple(keep)))

    # --------------------------------------------------------------- modes
    def forward(self, inputs: Union[torch.Tensor, List[str]],
                data_samples: Optional[List[DataSample]] = None,
                mode: str = 'tensor'):
        """MMEngine's entry point (``'loss'``, ``'predict'``, ``'tensor'``).

        Args:
            inputs (torch.Tensor | list[str]): A batch (images, or sentences
                for text-only training).
            data_samples (list[DataSample], optional): Its samples.
            mode (str): ``'loss'`` -> dict of losses, ``'predict'`` -> data
                samples with predictions, ``'tensor'`` -> raw scores.

        Returns:
            dict | list | torch.Tensor: As ``mode`` says.
        """
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        if mode == 'predict':
            return self.predict(inputs, data_samples)
        if mode == 'tensor':
            return self.forward_tensor(inputs)
        raise RuntimeError(f'Invalid mode "{mode}".')

    def forward_tensor(self, inputs: Union[torch.Tensor, List[str]]
                       ) -> torch.Tensor:
        """``'tensor'`` mode: raw scores (no data samples)."""
        raise NotImplementedError

    def loss(self, inputs, data_samples: List[DataSample]
             ) -> Dict[str, torch.Tensor]:
        """``'loss'`` mode: a dict of losses."""
        raise NotImplementedError

    def predict(self, inputs, data_samples: Optional[List[DataSample]] = None
                ) -> List[DataSample]:
        """``'predict'`` mode: data samples with ``pred_score``."""
        raise NotImplementedError

    # ------------------------------------------------------------- packing
    @staticmethod
    def pack_scores(scores: torch.Tensor,
                    data_samples: Optional[List[DataSample]] = None,
                    zsl_scores: Optional[torch.Tensor] = None,
                    metainfo: Optional[dict] = None) -> List[DataSample]:
        """Write ``pred_score`` (and ``pred_score_zsl``) per image.

        Args:
            scores (torch.Tensor): ``[B, C]`` scores of the scored label set.
            data_samples (list[DataSample], optional): Samples to fill; new
                ones when None.
            zsl_scores (torch.Tensor, optional): ``[B, U]`` scores of the
                unseen classes (a slice of ``scores`` or scored on their
                own), written as ``pred_score_zsl``.
            metainfo (dict, optional): Metainfo set on every sample.

        Returns:
            list[DataSample]: The filled samples.
        """
        if data_samples is None:
            data_samples = [DataSample() for _ in range(scores.shape[0])]
        zsl_rows = [None] * len(scores) if zsl_scores is None else \
            zsl_scores.detach()
        for sample, score, zsl in zip(data_samples, scores.detach(),
                                      zsl_rows):
            sample.set_pred_score(score)
            if zsl is not None:
                sample.set_field(zsl, 'pred_score_zsl', dtype=torch.Tensor)
            if metainfo:
                sample.set_metainfo(metainfo)
        return data_samples
