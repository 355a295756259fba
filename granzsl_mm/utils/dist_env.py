"""Distributed set-up that also works on CPU-only machines (gloo).

mmengine's ``pytorch`` launcher calls ``torch.cuda.set_device`` and its DDP
wrapper passes ``device_ids=[LOCAL_RANK]``; both fail without CUDA. We
initialise the process group ourselves before the Runner (which then skips
its own ``init_dist``) and build DDP with ``device_ids=None`` on CPU.
"""
import os
from typing import Optional

import torch
import torch.distributed as torch_dist

__all__ = ['init_dist_env', 'patch_ddp_for_cpu', 'default_dist_backend',
           'DDP_WRAPPERS']

#: Wrapper types built as ``DistributedDataParallel`` (``device_ids``);
#: ``TrainableDDP`` is granzsl_mm's (DDP only for a module that trains).
DDP_WRAPPERS = ('MMDistributedDataParallel', 'DistributedDataParallel',
                'TrainableDDP')


def default_dist_backend() -> str:
    """``nccl`` where CUDA devices exist, ``gloo`` otherwise."""
    return 'nccl' if torch.cuda.is_available() else 'gloo'


def init_dist_env(launcher: str, backend: Optional[str] = None) -> bool:
    """Initialise ``torch.distributed`` from a launcher's environment.

    Args:
        launcher (str): ``none``, ``pytorch`` (torchrun), ``slurm`` or ``mpi``.
        backend (str, optional): Process group backend. Defaults to
            :func:`default_dist_backend`.

    Returns:
        bool: Whether this call initialised a process group. With CUDA
        present (or launcher ``none``) it leaves the job to mmengine.
    """
    if launcher == 'none' or torch_dist.is_initialized():
        return False
    backend = backend or default_dist_backend()
    if backend != 'gloo':
        return False  # mmengine's own init_dist handles GPUs
    if launcher == 'slurm':
        os.environ.setdefault('RANK', os.environ['SLURM_PROCID'])
        os.environ.setdefault('WORLD_SIZE', os.environ['SLURM_NTASKS'])
        os.environ.setdefault('LOCAL_RANK', os.environ['SLURM_LOCALID'])
        os.environ.setdefault('MASTER_PORT', '29500')
    elif launcher == 'mpi':
        os.environ.setdefault('RANK', os.environ['OMPI_COMM_WORLD_RANK'])
        os.environ.setdefault('WORLD_SIZE', os.environ['OMPI_COMM_WORLD_SIZE'])
        os.environ.setdefault('LOCAL_RANK',
                              os.environ['OMPI_COMM_WORLD_LOCAL_RANK'])
    os.environ.setdefault('LOCAL_RANK', '0')
    os.environ.setdefault('MASTER_ADDR', '127.0.0.1')
    torch_dist.init_process_group(
        backend='gloo', rank=int(os.environ['RANK']),
        world_size=int(os.environ['WORLD_SIZE']))
    return True


def patch_ddp_for_cpu(cfg) -> None:
    """Make the config's DDP wrapper device-agnostic when CUDA is absent.

    Args:
        cfg (mmengine.Config): The config, changed in place.
    """
    if torch.cuda.is_available():
        return
    wrapper = dict(cfg.get('model_wrapper_cfg') or {})
    wrapper.setdefault('type', 'MMDistributedDataParallel')
    if str(wrapper['type']).split('.')[-1] in DDP_WRAPPERS:
        wrapper['device_ids'] = None
        wrapper.setdefault('broadcast_buffers', False)
    cfg.model_wrapper_cfg = wrapper
    env_cfg = cfg.get('env_cfg') or {}
    env_cfg.setdefault('dist_cfg', {})['backend'] = 'gloo'
    cfg.env_cfg = env_cfg
