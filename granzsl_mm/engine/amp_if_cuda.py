"""Mixed precision where CUDA is present, fp32 elsewhere (one config).

mmengine's ``AmpOptimWrapper`` asserts a GPU-like device at construction,
so a config that names it cannot run on CPU. GranZSL's reference trains its
text prompts under ``torch.cuda.amp.autocast`` with a ``GradScaler``; the
paper configs use :func:`amp_if_cuda_optim_wrapper` (registered as
``AmpIfCudaOptimWrapper``) to do the same on a CUDA device and train in
plain fp32 (mmengine's ``OptimWrapper``) on CPU::

    optim_wrapper = dict(type='AmpIfCudaOptimWrapper',
                         optimizer=dict(type='SGD', lr=1e-4))
"""
from typing import Union

import torch
from mmengine.logging import print_log
from mmengine.optim import AmpOptimWrapper, OptimWrapper

from granzsl_mm.registry import OPTIM_WRAPPERS

__all__ = ['amp_if_cuda_optim_wrapper']


@OPTIM_WRAPPERS.register_module(name='AmpIfCudaOptimWrapper')
def amp_if_cuda_optim_wrapper(optimizer: torch.optim.Optimizer,
                              loss_scale: Union[str, float, dict] = 'dynamic',
                              dtype: Union[None, str, torch.dtype] = None,
                              **kwargs) -> OptimWrapper:
    """An ``AmpOptimWrapper`` if CUDA is available, else an ``OptimWrapper``.

    Args:
        optimizer (torch.optim.Optimizer): The optimizer (the optim wrapper
            constructor passes it).
        loss_scale (str | float | dict): ``AmpOptimWrapper``'s loss scale
            (``'dynamic'``: a ``GradScaler``, initial scale 65536 as the
            reference's); unused on CPU.
        dtype (str | torch.dtype, optional): Autocast dtype (``None``:
            fp16); unused on CPU.
        **kwargs: ``OptimWrapper`` arguments (``accumulative_counts``,
            ``clip_grad``).

    Returns:
        OptimWrapper: ``AmpOptimWrapper`` (fp16 autocast + loss scaling) on
        CUDA; a plain fp32 ``OptimWrapper`` otherwise.
    """
    if torch.cuda.is_available():
        print_log('AmpIfCudaOptimWrapper: CUDA found, mixed precision '
                  f'(AmpOptimWrapper, dtype={dtype or "float16"}, '
                  f'loss_scale={loss_scale!r})', logger='current')
        return AmpOptimWrapper(optimizer=optimizer, loss_scale=loss_scale,
                               dtype=dtype, **kwargs)
    print_log('AmpIfCudaOptimWrapper: no CUDA device, training in fp32 '
              '(OptimWrapper)', logger='current')
    return OptimWrapper(optimizer=optimizer, **kwargs)
