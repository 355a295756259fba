"""Ground-floor helpers: the safe checkpoint codec and its opt-in loader,
atomic writes, distributed set-up, log tools.

Imports no higher wing of granzsl_mm; names load on first use.
"""
from .lazy import attach

__all__ = [
    'install_safe_loading', 'uninstall_safe_loading', 'safe_torch_load',
    'set_checkpoint_trust', 'UnsafeCheckpointError', 'init_dist_env',
    'patch_ddp_for_cpu', 'atomic_write_bytes', 'atomic_write_text'
]

__getattr__, __dir__ = attach(
    __name__,
    submodules=('atomic_io', 'browse', 'dist_env', 'label_matrix', 'lazy',
                'log_analysis', 'safe_checkpoint', 'safe_loading',
                'safe_pickle'),
    attributes={
        'install_safe_loading': '.safe_loading',
        'uninstall_safe_loading': '.safe_loading',
        'safe_torch_load': '.safe_checkpoint',
        'set_checkpoint_trust': '.safe_checkpoint',
        'UnsafeCheckpointError': '.safe_checkpoint',
        'init_dist_env': '.dist_env',
        'patch_ddp_for_cpu': '.dist_env',
        'atomic_write_bytes': '.atomic_io',
        'atomic_write_text': '.atomic_io',
    })
