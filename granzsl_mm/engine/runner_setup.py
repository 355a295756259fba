"""Turn a config plus command-line choices into a ready mmengine Runner.

The logic of ``tools/train.py`` and ``tools/test.py`` lives here so that the
Python API offers the same behaviour: MMPretrain's flags, CPU fallbacks for
distributed runs (gloo) and a clear answer for ``--amp`` without CUDA.
"""
import copy
import os
import os.path as osp
from typing import Optional

import torch
from mmengine.config import Config, ConfigDict
from mmengine.runner import Runner

from granzsl_mm.utils.dist_env import (
    DDP_WRAPPERS,
    init_dist_env,
    patch_ddp_for_cpu,
)
from granzsl_mm.utils.work_dir_lock import WorkDirInUseError, lock_work_dir

from .atomic_backend import ATOMIC_BACKEND_ARGS
from .trainable_ddp import TrainableDDP  # noqa: F401 (registers it)

__all__ = ['prepare_train_cfg', 'prepare_test_cfg', 'build_runner',
           'ensure_rng_hook', 'ensure_safe_checkpoint', 'ensure_checkpoint_fit',
           'ensure_trainable_ddp',
           'ensure_class_order_check', 'CLASS_ORDERS', 'RunnerSetupError']

# mmengine's own CheckpointHook, as configs name it.
_PLAIN_CHECKPOINT_HOOKS = ('CheckpointHook', 'mmengine.CheckpointHook')


class RunnerSetupError(ValueError):
    """The command-line choices do not fit the config or the machine.

    ``tools/train.py`` and ``tools/test.py`` print the message and exit with
    status 2; Python callers get the exception.
    """


def _has_hook(hooks: list, name: str) -> bool:
    return any(str(h.get('type', '')).split('.')[-1] == name for h in hooks)


def ensure_rng_hook(cfg: Config) -> None:
    """Add :class:`RNGStateHook` to ``custom_hooks`` unless present."""
    hooks = list(cfg.get('custom_hooks') or [])
    if not _has_hook(hooks, 'RNGStateHook'):
        hooks.append(dict(type='granzsl_mm.RNGStateHook'))
    cfg.custom_hooks = hooks


def ensure_safe_checkpoint(cfg: Config) -> None:
    """Make the run save safe, atomic checkpoints (in place).

    Adds :class:`~granzsl_mm.engine.SafeFormHook` to ``custom_hooks`` unless
    present; turns a checkpoint hook of type mmengine ``CheckpointHook``
    into :class:`~granzsl_mm.engine.AtomicCheckpointHook` (same arguments,
    the pointer written atomically) and gives it the atomic file backend
    unless it names a backend of its own (``backend_args`` or
    ``file_client_args``) or saves to a remote ``out_dir``. Other checkpoint
    hook types are left as they are.

    Args:
        cfg (Config): Loaded config.
    """
    hooks = list(cfg.get('custom_hooks') or [])
    if not _has_hook(hooks, 'SafeFormHook'):
        hooks.append(dict(type='granzsl_mm.SafeFormHook'))
    cfg.custom_hooks = hooks
    default_hooks = cfg.get('default_hooks')
    if not default_hooks or not default_hooks.get('checkpoint'):
        return
    ckpt = default_hooks['checkpoint']
    if ckpt.get('type', 'CheckpointHook') in _PLAIN_CHECKPOINT_HOOKS:
        ckpt['type'] = 'granzsl_mm.AtomicCheckpointHook'
    if str(ckpt.get('type', '')).split('.')[-1] != 'AtomicCheckpointHook':
        return
    if ckpt.get('backend_args') is None and ckpt.get(
            'file_client_args') is None and '://' not in str(
                ckpt.get('out_dir') or ''):
        ckpt['backend_args'] = dict(ATOMIC_BACKEND_ARGS)


def ensure_checkpoint_fit(cfg: Config, option: str = 'the checkpoint'
                          ) -> None:
    """Make the run refuse a checkpoint that does not fit its model.

    Adds :class:`~granzsl_mm.engine.hooks.CheckpointFitHook` to
    ``custom_hooks`` unless present (``load_from`` and ``resume`` are
    checked before the weights reach the model).

    Args:
        cfg (Config): Loaded config (changed in place).
        option (str): How the user gave the checkpoint (error messages).
    """
    hooks = list(cfg.get('custom_hooks') or [])
    if not _has_hook(hooks, 'CheckpointFitHook'):
        hooks.append(dict(type='granzsl_mm.CheckpointFitHook', option=option))
    cfg.custom_hooks = hooks


def ensure_trainable_ddp(cfg: Config, test_only: bool = False) -> None:
    """Wrap only what trains in a distributed run (in place).

    A wrapper of mmengine's DDP type (or none, mmengine's default) becomes
    :class:`~granzsl_mm.engine.trainable_ddp.TrainableDDP`, the same DDP for
    a module with a trainable parameter and no wrapper for a frozen one
    (DDP refuses those: the CLIP zero-shot baseline). Arguments are kept;
    mmengine's defaults for an unset wrapper (``broadcast_buffers=False``,
    ``find_unused_parameters`` from the config) are filled in. Other
    wrapper types (FSDP, DeepSpeed) are left as they are.

    Args:
        cfg (Config): Loaded config.
        test_only (bool): The run only tests: never build DDP.
    """
    wrapper = dict(cfg.get('model_wrapper_cfg') or {})
    if str(wrapper.get('type', 'MMDistributedDataParallel')).split('.')[
            -1] not in DDP_WRAPPERS:
        return
    if not wrapper:
        wrapper = dict(broadcast_buffers=False,
                       find_unused_parameters=cfg.get(
                           'find_unused_parameters', False))
    wrapper['type'] = 'TrainableDDP'  # mmengine's root registry
    if test_only:
        wrapper['test_only'] = True
    cfg.model_wrapper_cfg = wrapper


CLASS_ORDERS = ('strict', 'by_name')


def ensure_class_order_check(cfg: Config) -> None:
    """Add :class:`~granzsl_mm.engine.hooks.ClassOrderHook` (in place).

    The config key ``class_order`` chooses: ``'strict'`` (default: a model
    whose class order differs from the dataset's is refused, naming the
    first differing position) or ``'by_name'`` (the same names in another
    order are mapped by name), e.g. ``--cfg-options class_order=by_name``.

    Args:
        cfg (Config): Loaded config.

    Raises:
        RunnerSetupError: An unknown ``class_order``.
    """
    order = cfg.get('class_order', 'strict')
    if order not in CLASS_ORDERS:
        raise RunnerSetupError(f'class_order={order!r}: expected one of '
                               f'{CLASS_ORDERS}')
    hooks = [h for h in (cfg.get('custom_hooks') or [])
             if str(h.get('type', '')).split('.')[-1] != 'ClassOrderHook']
    hooks.append(dict(type='granzsl_mm.ClassOrderHook',
                      map_by_name=order == 'by_name'))
    cfg.custom_hooks = hooks


def _work_dir(cfg: Config, config_path: str, work_dir: Optional[str]) -> None:
    if work_dir is not None:
        cfg.work_dir = work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(config_path))[0])


def _several_optimizers(cfg: Config) -> bool:
    """Whether ``optim_wrapper`` names several wrappers (a constructor's
    ``OptimWrapperDict``: no top-level ``optimizer``)."""
    wrapper = cfg.get('optim_wrapper')
    return isinstance(wrapper, dict) and 'optimizer' not in wrapper


def prepare_train_cfg(cfg: Config, config_path: str,
                      work_dir: Optional[str] = None,
                      resume: Optional[str] = None, amp: bool = False,
                      no_validate: bool = False, auto_scale_lr: bool = False,
                      launcher: str = 'none') -> Config:
    """Apply ``tools/train.py``'s options to a config (in place).

    Args:
        cfg (Config): Loaded config.
        config_path (str): Its path (names the default work dir).
        work_dir (str, optional): Work directory.
        resume (str, optional): ``'auto'`` for the latest checkpoint of the
            work dir, or a checkpoint path.
        amp (bool): Mixed precision (CUDA only in mmengine 0.10.7).
        no_validate (bool): Skip validation during training.
        auto_scale_lr (bool): Scale the lr by the total batch size.
        launcher (str): Job launcher.

    Returns:
        Config: The same config, ready for :func:`build_runner`.

    Raises:
        RunnerSetupError: If ``amp`` is asked for without a CUDA device, or
            a distributed run of several optimizers under a wrapper other
            than DDP.
    """
    _work_dir(cfg, config_path, work_dir)
    cfg.launcher = launcher
    if amp:
        if not torch.cuda.is_available():
            raise RunnerSetupError(
                '--amp needs a CUDA device: mmengine 0.10.7\'s AmpOptimWrapper '
                'asserts CUDA, and no CUDA device is visible. Drop --amp to '
                'train in fp32 on CPU.')
        # several optimizers: every wrapper entry becomes AMP
        entries = [cfg.optim_wrapper]
        if _several_optimizers(cfg):
            entries = [v for v in cfg.optim_wrapper.values()
                       if isinstance(v, dict)]
        for entry in entries:
            if entry.get('type', 'OptimWrapper') != 'AmpOptimWrapper':
                entry.type = 'AmpOptimWrapper'
                entry.setdefault('loss_scale', 'dynamic')
    if no_validate:
        cfg.val_cfg = None
        cfg.val_dataloader = None
        cfg.val_evaluator = None
    if auto_scale_lr:
        cfg.setdefault('auto_scale_lr', ConfigDict(base_batch_size=256))
        cfg.auto_scale_lr.enable = True
    if resume == 'auto':
        cfg.resume = True
        cfg.load_from = None
    elif resume is not None:
        cfg.resume = True
        cfg.load_from = resume
    ensure_rng_hook(cfg)
    ensure_safe_checkpoint(cfg)
    ensure_checkpoint_fit(cfg, option='load_from / --resume')
    ensure_class_order_check(cfg)
    if launcher != 'none':
        ensure_trainable_ddp(cfg)
        model_wrapper = str((cfg.get('model_wrapper_cfg') or {}).get(
            'type', '')).split('.')[-1]
        if _several_optimizers(cfg) and model_wrapper != 'TrainableDDP':
            # TrainableDDP steps several optim wrappers; FSDP / DeepSpeed
            # wrappers step one
            raise RunnerSetupError(
                'optim_wrapper holds several optimizers (named wrappers), '
                f'which model_wrapper_cfg type {model_wrapper!r} cannot '
                "step; use mmengine's DDP (the default) or train without "
                '--launcher')
    return cfg


def prepare_test_cfg(cfg: Config, config_path: str, checkpoint: str,
                     work_dir: Optional[str] = None, out: Optional[str] = None,
                     out_item: str = 'pred', show_dir: Optional[str] = None,
                     tta: bool = False, launcher: str = 'none') -> Config:
    """Apply ``tools/test.py``'s options to a config (in place).

    Args:
        cfg (Config): Loaded config.
        config_path (str): Its path.
        checkpoint (str): Checkpoint to evaluate.
        work_dir (str, optional): Work directory.
        out (str, optional): Dump predictions (``out_item='pred'``:
            ``.pth`` / ``.npz`` / plain-data ``.pkl``, written by
            :class:`~granzsl_mm.evaluation.metrics.SafeDumpResults`) or
            metrics (``'metrics'``, json) to this file.
        out_item (str): What ``out`` holds.
        show_dir (str, optional): Save a painted image per test image here
            (a relative path is taken inside the work dir).
        tta (bool): Wrap the model with ``cfg.tta_model`` and use
            ``cfg.tta_pipeline``. Both must be in the config: MMPretrain's
            default flip augmentation is never substituted silently.
        launcher (str): Job launcher.

    Returns:
        Config: The same config.

    Raises:
        RunnerSetupError: If ``tta`` is asked for and the config lacks
            ``tta_model`` or ``tta_pipeline``.
    """
    _work_dir(cfg, config_path, work_dir)
    cfg.launcher = launcher
    # 'none': evaluate the config's own weights (zero-shot CLIP configs).
    cfg.load_from = None if checkpoint in (None, 'none', 'None') else checkpoint
    cfg.resume = False
    ensure_safe_checkpoint(cfg)
    ensure_checkpoint_fit(cfg, option='the checkpoint argument')
    ensure_class_order_check(cfg)
    if launcher != 'none':
        ensure_trainable_ddp(cfg, test_only=True)
    if tta:
        missing = [k for k in ('tta_model', 'tta_pipeline') if k not in cfg]
        if missing:
            raise RunnerSetupError(
                f'--tta needs {" and ".join(missing)} in the config '
                f'{config_path}; this plugin never falls back to a default '
                'flip augmentation.')
        cfg.model = ConfigDict(**cfg.tta_model, module=cfg.model)
        cfg.test_dataloader.dataset.pipeline = copy.deepcopy(cfg.tta_pipeline)
    if out is not None and out_item == 'pred':
        evaluators = cfg.test_evaluator
        if not isinstance(evaluators, (list, tuple)):
            evaluators = [evaluators]
        # not mmengine's DumpResults (a pickle of torch objects): a dump
        # that load_predictions / eval_scores read without unpickling code
        cfg.test_evaluator = list(evaluators) + [
            dict(type='granzsl_mm.SafeDumpResults', out_file_path=out)]
    if show_dir is not None:
        vis = cfg.default_hooks.get('visualization', dict(
            type='VisualizationHook'))
        if not osp.isabs(show_dir):
            show_dir = osp.join(cfg.work_dir, show_dir)
        vis.update(enable=True, out_dir=show_dir, interval=1)
        cfg.default_hooks.visualization = vis
    return cfg


def _say_tower_weights(cfg: Config) -> None:
    """The run's first line: which CLIP weights the config loads ("random
    CLIP tower" for a random one); ``CheckpointFitHook`` logs the final
    word after a checkpoint, into the log file too."""
    import logging

    from mmengine.logging import print_log

    from granzsl_mm.models.backbones.tower_weights import (
        RANDOM_TOWER_NOTE,
        config_tower_line,
    )
    line = config_tower_line(cfg.get('model'))
    if line is not None:
        print_log(line, logger='current', level=logging.WARNING
                  if RANDOM_TOWER_NOTE in line else logging.INFO)


def build_runner(cfg: Config) -> Runner:
    """Build the Runner, initialising CPU process groups beforehand.

    Rank 0 locks the work dir first (:func:`~granzsl_mm.utils.work_dir_lock.
    lock_work_dir`): a second run into a folder in use is refused.

    Args:
        cfg (Config): A prepared config (``cfg.launcher`` set).

    Returns:
        Runner: mmengine (or ``cfg.runner_type``) runner.

    Raises:
        RunnerSetupError: The work dir is in use by another process.
    """
    if cfg.get('work_dir') and int(os.environ.get('RANK', '0')) == 0:
        try:
            lock_work_dir(cfg.work_dir)
        except WorkDirInUseError as err:
            raise RunnerSetupError(str(err)) from None
    _say_tower_weights(cfg)
    launcher = cfg.get('launcher', 'none')
    if launcher != 'none':  # idempotent: keeps prepare_test_cfg's test_only
        ensure_trainable_ddp(cfg)
    if launcher != 'none' and not torch.cuda.is_available():
        init_dist_env(launcher, backend='gloo')
        patch_ddp_for_cpu(cfg)
    if 'runner_type' in cfg:
        from granzsl_mm.registry import RUNNERS
        return RUNNERS.build(cfg)
    return Runner.from_cfg(cfg)
