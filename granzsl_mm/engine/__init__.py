"""Engine: hooks, the atomic file backend and the runner set-up shared by
the tools and the Python API (where granzsl_mm extends mmengine)."""
from . import hooks  # noqa: F401
from .amp_if_cuda import amp_if_cuda_optim_wrapper
from .atomic_backend import ATOMIC_BACKEND, ATOMIC_BACKEND_ARGS, AtomicLocalBackend
from .hooks import AtomicCheckpointHook, SafeFormHook
from .param_split_constructor import ParamSplitOptimWrapperConstructor
from .runner_setup import (
    RunnerSetupError,
    build_runner,
    ensure_checkpoint_fit,
    ensure_rng_hook,
    ensure_safe_checkpoint,
    prepare_test_cfg,
    prepare_train_cfg,
)
from .timm_cosine_lr import TimmCosineLR
from .trainable_ddp import TrainableDDP

__all__ = ['hooks', 'build_runner', 'ensure_rng_hook', 'ensure_checkpoint_fit',
           'ensure_safe_checkpoint', 'prepare_test_cfg', 'prepare_train_cfg',
           'RunnerSetupError', 'AtomicLocalBackend', 'ATOMIC_BACKEND',
           'ATOMIC_BACKEND_ARGS', 'AtomicCheckpointHook', 'SafeFormHook',
           'amp_if_cuda_optim_wrapper', 'TrainableDDP',
           'ParamSplitOptimWrapperConstructor', 'TimmCosineLR']
