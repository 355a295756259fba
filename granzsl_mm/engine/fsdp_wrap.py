"""FSDP auto-wrap policy for open_clip towers (FlexibleRunner + FSDPStrategy).

Registered in mmengine's root ``FUNCTIONS`` registry (where
``MMFullyShardedDataParallel`` looks ``auto_wrap_policy`` names up), so a
config can say ``auto_wrap_policy=dict(type='clip_block_wrap_policy')``:
every transformer block of the image and text towers becomes its own FSDP
unit (sharded, gathered one block at a time), the rest stays in the root.
"""
from mmengine.registry import FUNCTIONS
from torch import nn

__all__ = ['clip_block_wrap_policy', 'clip_block_classes']


def clip_block_classes() -> set:
    """open_clip's residual attention block classes."""
    from open_clip import transformer
    return {getattr(transformer, name) for name in
            ('ResidualAttentionBlock', 'CustomResidualAttentionBlock')
            if hasattr(transformer, name)}


@FUNCTIONS.register_module()
def clip_block_wrap_policy(module: nn.Module, recurse: bool,
                           nonwrapped_numel: int) -> bool:
    """Wrap each open_clip transformer block as one FSDP unit.

    Args:
        module (nn.Module): Candidate module.
        recurse (bool): FSDP asks whether to descend into ``module``.
        nonwrapped_numel (int): Parameters not yet wrapped (unused).

    Returns:
        bool: Descend (``recurse=True``: always) / wrap this module.
    """
    if recurse:
        return True
    return isinstance(module, tuple(clip_block_classes()))
