"""DDP for what trains; a frozen (or test-only) model runs unwrapped.

PyTorch's ``DistributedDataParallel`` refuses a module without a parameter
that requires a gradient ("DistributedDataParallel is not needed when a
module doesn't have any parameter that requires a gradient"), so a
distributed test of the CLIP zero-shot baseline, or of any frozen model,
crashed on every rank. Nothing needs DDP there: each rank scores its share
of the test set and the evaluator gathers the results.
:class:`TrainableDDP` is mmengine's ``MMDistributedDataParallel`` when the
module has a trainable parameter and the module itself otherwise.
``granzsl_mm.engine`` selects it for every distributed run whose wrapper
is mmengine's DDP (or unset; ``prepare_test_cfg`` also sets
``test_only=True``, so a test run never builds DDP)::

    model_wrapper_cfg = dict(type='TrainableDDP')
"""
from typing import Any, Dict

from mmengine.model import MMDistributedDataParallel
from mmengine.optim import OptimWrapperDict

# mmengine's root registry, like ``clip_block_wrap_policy``: Runner.wrap_model
# looks the wrapper type up there, where a child scope's types are not found
from mmengine.registry import MODEL_WRAPPERS
from torch import nn

from granzsl_mm.models.multi_optim_step import step_optim_wrappers

__all__ = ['TrainableDDP', 'has_trainable_parameters']


def has_trainable_parameters(module: nn.Module) -> bool:
    """Whether any parameter of ``module`` requires a gradient."""
    return any(p.requires_grad for p in module.parameters())


@MODEL_WRAPPERS.register_module(force=False)
class TrainableDDP(MMDistributedDataParallel):
    """``MMDistributedDataParallel`` for a module that trains, else the
    module unwrapped (see the module docstring).

    Args:
        module (nn.Module): The model.
        test_only (bool): A run that only tests: never wrap (nothing
            needs gradients synchronised).
        **kwargs: ``MMDistributedDataParallel``'s arguments
            (``device_ids``, ``broadcast_buffers``, ...).
    """

    def __new__(cls, module: nn.Module, test_only: bool = False,
                **kwargs: Any):
        if test_only or not has_trainable_parameters(module):
            return module  # not an instance: __init__ is not called
        return super().__new__(cls)

    def __init__(self, module: nn.Module, test_only: bool = False,
                 **kwargs: Any) -> None:
        super().__init__(module=module, **kwargs)

    def train_step(self, data: dict, optim_wrapper: Any) -> Dict[str, Any]:
        """mmengine's DDP step, or, for several optimizers (an
        ``OptimWrapperDict``), one synchronised backward and a step of each
        (:func:`~granzsl_mm.models.multi_optim_step.step_optim_wrappers`
        with this wrapper running the forward)."""
        if isinstance(optim_wrapper, OptimWrapperDict):
            return step_optim_wrappers(self.module, data, optim_wrapper,
                                       forward=self)
        return super().train_step(data, optim_wrapper)
