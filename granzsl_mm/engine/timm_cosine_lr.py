"""timm's cosine schedule with warm-up, absolute start and floor.

Some references (Recover-and-Match's ``solver/make_scheduler.py``) schedule
with timm's ``CosineLRScheduler``: a linear warm-up from an absolute
``warmup_lr_init`` to each group's rate, then a cosine to an absolute
``lr_min``, both the same for every parameter group and every optimizer.
mmengine's ``LinearLR`` / ``CosineAnnealingLR`` scale each group by one
factor, so groups of different rates cannot start from one absolute value;
``TimmCosineLR`` gives timm's values exactly (one cycle, ``t_mul=1``,
``warmup_prefix=False``, no noise: the configuration those references use)::

    param_scheduler = dict(type='TimmCosineLR', t_initial=60, warmup_t=3,
                           warmup_lr_init=5e-7, lr_min=1e-7, first_t=1)

``first_t`` is the schedule's time of the first epoch (step): a loop that
calls ``scheduler.step(epoch)`` with 1-based epochs before each epoch runs
its first epoch at ``t=1``.
"""
import math
from typing import List

from mmengine.optim.scheduler.lr_scheduler import LRSchedulerMixin
from mmengine.optim.scheduler.param_scheduler import INF, _ParamScheduler

from granzsl_mm.registry import PARAM_SCHEDULERS

__all__ = ['TimmCosineLR', 'timm_cosine_lr']


def timm_cosine_lr(t: int, base: float, t_initial: int, warmup_t: int,
                   warmup_lr_init: float, lr_min: float) -> float:
    """timm ``CosineLRScheduler._get_lr`` for one group (one cycle).

    Args:
        t: Time (epoch or step).
        base: The group's rate.
        t_initial: Cycle length.
        warmup_t: Warm-up length.
        warmup_lr_init: Absolute rate at ``t=0``.
        lr_min: Absolute floor of the cosine.

    Returns:
        float: The rate at ``t``.
    """
    if t < warmup_t:
        return warmup_lr_init + t * (base - warmup_lr_init) / warmup_t
    if t >= t_initial:  # cycle_limit=1: past the cycle, the floor
        return lr_min
    return lr_min + 0.5 * (base - lr_min) * (1 + math.cos(math.pi * t
                                                           / t_initial))


@PARAM_SCHEDULERS.register_module()
class TimmCosineLR(LRSchedulerMixin, _ParamScheduler):
    """timm's ``CosineLRScheduler`` (one cycle) as an mmengine scheduler.

    Args:
        optimizer: Optimizer or optim wrapper.
        t_initial (int): Cycle length (timm ``t_initial``).
        warmup_t (int): Warm-up length.
        warmup_lr_init (float): Absolute rate at the warm-up's start.
        lr_min (float): Absolute floor.
        first_t (int): Schedule time of the first epoch / step.
        begin (int): First step it acts on.
        end (int): Step it stops at.
        last_step (int): As mmengine's schedulers.
        by_epoch (bool): Stepped per epoch.
        verbose (bool): Print each update.
    """

    def __init__(self, optimizer, t_initial: int, warmup_t: int = 0,
                 warmup_lr_init: float = 0.0, lr_min: float = 0.0,
                 first_t: int = 0, begin: int = 0, end: int = INF,
                 last_step: int = -1, by_epoch: bool = True,
                 verbose: bool = False) -> None:
        if t_initial <= 0 or lr_min < 0 or warmup_t < 0:
            raise ValueError('TimmCosineLR: t_initial > 0, warmup_t >= 0 and '
                             'lr_min >= 0')
        self.t_initial = int(t_initial)
        self.warmup_t = int(warmup_t)
        self.warmup_lr_init = float(warmup_lr_init)
        self.lr_min = float(lr_min)
        self.first_t = int(first_t)
        super().__init__(optimizer, begin=begin, end=end, last_step=last_step,
                         by_epoch=by_epoch, verbose=verbose)

    def _get_value(self) -> List[float]:
        t = self.last_step + self.first_t
        return [timm_cosine_lr(t, base, self.t_initial, self.warmup_t,
                               self.warmup_lr_init, self.lr_min)
                for base in self.base_values]
