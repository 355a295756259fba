"""A linear multi-label head for single-positive (partial) labels.

MMPretrain's ``MultiLabelLinearClsHead`` stacks each sample's ``gt_score`` and
hands it with the logits to its loss; it knows nothing of unknown labels or
pseudo-labels. :class:`SPMLLinearClsHead` is that head (same layer, same
``predict``: sigmoid scores) whose loss step also collects the samples'
``soft_targets`` (NaN where there are none) and calls an SPML-aware loss
(default :class:`~granzsl_mm.models.losses.SPMLLoss`), which applies the
sigmoid and treats -1 as unknown. It drops into any MMPretrain
``ImageClassifier`` in place of the stock head.
"""
from typing import List, Optional, Tuple

import torch
import torch.nn as nn
from mmpretrain.models.heads import MultiLabelLinearClsHead
from mmpretrain.structures import DataSample, label_to_onehot

from granzsl_mm.registry import MODELS

__all__ = ['stack_multilabel_targets', 'SPMLLinearClsHead']


def stack_multilabel_targets(
        data_samples: List[DataSample], num_classes: int,
        device: Optional[torch.device] = None
) -> Tuple[torch.Tensor, Optional[torch.Tensor]]:
    """Targets and soft targets of a batch.

    Args:
        data_samples: Samples with ``gt_score`` (in {1, 0, -1}) or, failing
            that, ``gt_label`` (positive indices; every other class 0), and
            optionally ``soft_targets``.
        num_classes: Number of classes ``C``.
        device: Device of the returned tensors.

    Returns:
        tuple: ``[N, C]`` float targets, and ``[N, C]`` soft targets (NaN
        where none; samples without the field are all NaN) or None when no
        sample carries any.
    """
    targets, softs = [], []
    any_soft = False
    for sample in data_samples:
        if 'gt_score' in sample:
            target = sample.gt_score.float()
        else:
            target = label_to_onehot(sample.gt_label, num_classes).float()
        if target.numel() != num_classes:
            raise ValueError(f'a target has {target.numel()} classes, the '
                             f'head {num_classes}')
        targets.append(target.to(device))
        soft = sample.get('soft_targets')
        if soft is None:
            soft = torch.full((num_classes, ), float('nan'))
        else:
            any_soft = True
            soft = torch.as_tensor(soft, dtype=torch.float32)
        softs.append(soft.to(device))
    soft_targets = torch.stack(softs) if any_soft else None
    return torch.stack(targets), soft_targets


@MODELS.register_module()
class SPMLLinearClsHead(MultiLabelLinearClsHead):
    """``MultiLabelLinearClsHead`` trained with an SPML loss.

    Args:
        num_classes (int): Number of classes.
        in_channels (int): Input feature channels.
        loss (dict | nn.Module, optional): Loss taking ``(logits, targets,
            soft_targets=..., avg_factor=...)`` (``SPMLLoss``,
            ``MaskedBCELoss``); None: ``dict(type='SPMLLoss', mode='an')``.
        **kwargs: Other arguments of ``MultiLabelLinearClsHead`` (``thr``,
            ``topk``, ``init_cfg``).
    """

    def __init__(self,
                 num_classes: int,
                 in_channels: int,
                 loss: Optional[dict] = None,
                 **kwargs) -> None:
        if loss is None:
            loss = dict(type='SPMLLoss', mode='an')
        if not isinstance(loss, nn.Module):
            loss = MODELS.build(loss)
        super().__init__(num_classes=num_classes, in_channels=in_channels,
                         loss=loss, **kwargs)

    def _get_loss(self, cls_score: torch.Tensor,
                  data_samples: List[DataSample], **kwargs) -> dict:
        """SPML loss of a batch (soft targets passed when present)."""
        target, soft = stack_multilabel_targets(
            data_samples, cls_score.shape[-1], device=cls_score.device)
        if soft is not None:
            kwargs['soft_targets'] = soft
        loss = self.loss_module(cls_score, target,
                                avg_factor=cls_score.size(0), **kwargs)
        return dict(loss=loss)
