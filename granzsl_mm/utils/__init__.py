"""Safe checkpoints, distributed set-up and log tools."""
from .dist_env import init_dist_env, patch_ddp_for_cpu
from .safe_checkpoint import (
                              UnsafeCheckpointError,
                              install_safe_checkpoint,
                              safe_torch_load,
                              set_checkpoint_trust,
)

__all__ = [
    'install_safe_checkpoint', 'safe_torch_load',
    'set_checkpoint_trust', 'UnsafeCheckpointError', 'init_dist_env',
    'patch_ddp_for_cpu'
]
