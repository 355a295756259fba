"""One training step that steps several optim wrappers on one backward.

mmengine's ``BaseModel.train_step`` and ``MMDistributedDataParallel``'s
call ``optim_wrapper.update_params``, which an ``OptimWrapperDict`` does
not have: a model trained with several optimizers (built by
:class:`~granzsl_mm.engine.ParamSplitOptimWrapperConstructor`) steps them
here. As torch's recipe for several optimizers: one forward and backward,
then every optimizer steps; under AMP one loss scaler for all (scale,
backward, step each, one update).

The same function serves the model (``RecoverMatch.train_step``) and the
distributed wrapper (:class:`~granzsl_mm.engine.TrainableDDP`), which
passes itself as ``forward`` so that the backward synchronises the
gradients.
"""
from typing import Dict, Optional

import torch
from mmengine.model import BaseModel
from mmengine.optim import AmpOptimWrapper, OptimWrapperDict

__all__ = ['step_optim_wrappers']


def step_optim_wrappers(model: BaseModel, data: dict,
                        optim_wrapper: OptimWrapperDict,
                        forward: Optional[torch.nn.Module] = None
                        ) -> Dict[str, torch.Tensor]:
    """One forward and backward; every wrapper of the dict steps.

    Args:
        model (BaseModel): The model (its data preprocessor and
            ``parse_losses``).
        data (dict): A batch from the data loader.
        optim_wrapper (OptimWrapperDict): The wrappers.
        forward (nn.Module, optional): What runs the loss forward: the DDP
            wrapper of ``model`` in a distributed run (default: ``model``).

    Returns:
        dict: The logged losses.

    Raises:
        ValueError: Gradient accumulation over several wrappers, or a mix of
            AMP and fp32 wrappers.
    """
    forward = model if forward is None else forward
    wrappers = list(optim_wrapper.values())
    if any(w._accumulative_counts != 1 for w in wrappers):
        raise ValueError('accumulative_counts must be 1 when several optim '
                         'wrappers step together')
    amp = [isinstance(w, AmpOptimWrapper) for w in wrappers]
    if any(amp) and not all(amp):
        raise ValueError('optim wrappers are either all AmpOptimWrapper or '
                         'none')
    with wrappers[0].optim_context(forward):  # autocast under AMP
        data = model.data_preprocessor(data, True)
        losses = forward._run_forward(data, mode='loss')
    loss, log_vars = model.parse_losses(losses)
    scaler = wrappers[0].loss_scaler if all(amp) else None
    if scaler is None:
        loss.backward()
    else:
        scaler.scale(loss).backward()
    for w in wrappers:
        w._inner_count += 1  # as OptimWrapper.backward counts
        if scaler is None:
            w.step()
            continue
        if w.clip_grad_kwargs:
            scaler.unscale_(w.optimizer)
            w._clip_grad()
        scaler.step(w.optimizer)
    if scaler is not None:
        scaler.update(wrappers[0]._scale_update_param)
    for w in wrappers:
        w.zero_grad()
    return log_vars
