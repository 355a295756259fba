"""Stages of the proving-ground demo, each a Runner job on the world.

:func:`granzsl_mm.proving_ground.pipeline.run_world_demo` chains them: the demo
config of a method pointed at a built world and its tiny CLIP, the CLIP
prompt baseline, GranZSL (text-only training, tests with and without
snippets) and MKT / SigRL (image-tower fine-tuning on the seen labels).
"""
import copy
import os.path as osp
from typing import Dict, List, Optional

import numpy as np
from mmengine.config import Config

__all__ = ['DEMO_TEMPLATES', 'demo_config', 'load_test_targets',
           'clip_zero_shot', 'train_and_test_granzsl', 'image_model_config',
           'train_and_test_image_model', 'quiet_stage', 'test_stage']

# Prompts in the words of the world's captions (the tiny CLIP knows no
# "photo"); the GranZSL demo config uses the same ones.
DEMO_TEMPLATES = ['a picture of a {}.', 'there is a {}.', 'an image with a {}.']


def quiet_stage(cfg: Config, work_dir: str, name: str) -> Config:
    """Log warnings only and show a progress bar instead (one stage).

    Also fills the registries (:func:`granzsl_mm.register_all_modules`):
    a stage may be the first Runner job of a process.
    """
    from granzsl_mm.setup_env import register_all_modules
    register_all_modules()
    cfg.work_dir = work_dir
    cfg.experiment_name = name  # one mmengine logger/visualizer per stage
    cfg.log_level = 'WARNING'
    hooks = list(cfg.get('custom_hooks') or [])
    hooks.append(dict(type='ProgressBarHook', desc=name))
    cfg.custom_hooks = hooks
    return cfg


def demo_config(config: str, data_root: str, checkpoint: str,
                meta: dict, max_epochs: Optional[int] = None) -> Config:
    """A GranZSL demo config pointed at a world and a tiny CLIP checkpoint."""
    cfg = Config.fromfile(config)
    opts = {
        'model.backbone.pretrained': checkpoint,
        'model.num_classes': len(meta['classes']),
        'model.num_seen_classes': len(meta['seen_classes']),
        'train_dataloader.dataset.description_file':
        osp.join(data_root, 'descriptions.json'),
        'train_dataloader.dataset.split_file': osp.join(data_root,
                                                        'split.json'),
        'test_dataloader.dataset.data_root': data_root,
        # granularity levels / parents: per-level AP in the reports
        'test_dataloader.dataset.metainfo': dict(
            class_levels=meta['class_levels'],
            class_parents=meta['class_parents']),
    }
    cfg.merge_from_dict(opts)
    if max_epochs is not None:
        if max_epochs < 2:
            raise ValueError('the demo schedule (warm-up epoch + cosine) '
                             f'needs max_epochs >= 2, got {max_epochs}')
        cfg.train_cfg.max_epochs = max_epochs
        cfg.default_hooks.checkpoint.interval = max_epochs
        for sched in cfg.param_scheduler:
            if sched.type == 'CosineAnnealingLR':
                sched.update(T_max=max_epochs, end=max_epochs)
    return cfg


def load_test_targets(cfg: Config) -> np.ndarray:
    """``[N, C]`` labels of the config's test set (seen then unseen)."""
    from granzsl_mm.registry import DATASETS
    ds_cfg = copy.deepcopy(cfg.test_dataloader.dataset)
    ds_cfg['pipeline'] = []
    dataset = DATASETS.build(ds_cfg)
    return np.stack([np.asarray(dataset.get_data_info(i)['gt_score'])
                     for i in range(len(dataset))])


def test_stage(cfg: Config, work_dir: str, name: str,
               reports: bool = True) -> Dict[str, float]:
    """Run a prepared test config quietly; return its metrics.

    Args:
        cfg (Config): A test-ready config.
        work_dir (str): Runner work dir.
        name (str): Stage name (logger, progress bar).
        reports (bool): Write the per-class AP reports to
            ``<work_dir>/reports``.

    Returns:
        dict: Metric name -> float.
    """
    from granzsl_mm.engine import build_runner
    quiet_stage(cfg, work_dir, name)
    evaluator = dict(cfg.test_evaluator)
    if reports:
        evaluator['out_dir'] = osp.join(work_dir, 'reports')
    else:
        evaluator.pop('out_dir', None)
    cfg.test_evaluator = evaluator
    metrics = build_runner(cfg).test()
    return {k: float(v) for k, v in metrics.items()}


_test_stage = test_stage


def clip_zero_shot(cfg: Config, meta: dict, work_dir: str,
                   templates: List[str] = DEMO_TEMPLATES,
                   score_mode: str = 'global') -> Dict[str, float]:
    """CLIP prompt baseline: class names in templates, no learning.

    Args:
        cfg (Config): A demo config (from :func:`demo_config`).
        meta (dict): The world's ``world.json``.
        work_dir (str): Where its reports go.
        templates (list[str]): Prompt templates (ensemble).
        score_mode (str): ``'global'`` (CLIP's image embedding) or
            ``'both'`` (global + ClearCLIP dense cosines pooled as GranZSL
            does: the same scoring with prompts instead of learned names).

    Returns:
        dict: The test metrics (``zsl/mAP``, ``gzsl/mAP``, ...).
    """
    cfg = copy.deepcopy(cfg)
    dense = None if score_mode == 'global' else 'clearclip'
    backbone = dict(cfg.model.backbone, dense_mode=dense)
    cfg.model = dict(
        type='ZeroShotMultiLabelClassifier', backbone=backbone,
        class_names=meta['classes'],
        num_seen_classes=len(meta['seen_classes']), templates=templates,
        score_mode=score_mode, local_pooling='softmax',
        logit_scale=cfg.model.logit_scale,
        data_preprocessor=cfg.model.data_preprocessor)
    for key in ('train_dataloader', 'train_cfg', 'optim_wrapper',
                'param_scheduler'):
        cfg[key] = None
    cfg.load_from = None
    return _test_stage(cfg, work_dir, f'clip_zero_shot_{score_mode}')


def train_and_test_granzsl(config: str, data_root: str, checkpoint: str,
                           meta: dict, work_dir: str,
                           max_epochs: Optional[int] = None,
                           snippets: bool = True) -> Dict[str, dict]:
    """Train GranZSL (text only) and test it without and with snippets.

    Returns:
        dict: ``{'plain': metrics, 'snippets': metrics}`` (the second only
        with ``snippets``).
    """
    from granzsl_mm.engine import build_runner, prepare_test_cfg, prepare_train_cfg
    name = osp.splitext(osp.basename(config))[0]
    cfg = demo_config(config, data_root, checkpoint, meta, max_epochs)
    test_cfg = cfg.copy()
    prepare_train_cfg(cfg, config, work_dir=work_dir)
    quiet_stage(cfg, work_dir, f'{name}_train')
    build_runner(cfg).train()
    ckpt = osp.join(work_dir, f'epoch_{cfg.train_cfg.max_epochs}.pth')
    out = {}
    plain = test_cfg.copy()
    prepare_test_cfg(plain, config, ckpt, work_dir=work_dir, tta=False)
    out['plain'] = _test_stage(plain, osp.join(work_dir, 'test_plain'),
                         f'{name}_test_plain')
    if snippets:
        tta = test_cfg.copy()
        prepare_test_cfg(tta, config, ckpt, work_dir=work_dir, tta=True)
        out['snippets'] = _test_stage(tta, osp.join(work_dir, 'test_snippets'),
                                f'{name}_test_snippets')
    return out


def image_model_config(config: str, data_root: str, checkpoint: str,
                       meta: dict, max_epochs: Optional[int] = None,
                       protocol: Optional[dict] = None) -> Config:
    """An MKT / SigRL demo config pointed at a world and a tiny CLIP.

    Args:
        config (str): ``mkt_demo.py`` or ``sigrl_demo.py``.
        data_root (str): The built world.
        checkpoint (str): The tiny CLIP checkpoint.
        meta (dict): The world's ``world.json``.
        max_epochs (int, optional): Override the epochs (the warm-up stays a
            quarter epoch, the cosine ends with the last epoch).
        protocol (dict, optional): ``empty_class`` / ``drop_empty_images``
            of the test evaluator (None: the config's, all images scored).

    Returns:
        Config: The config.
    """
    cfg = Config.fromfile(config)
    opts = {
        'model.backbone.pretrained': checkpoint,
        'model.num_classes': len(meta['classes']),
        'model.num_seen_classes': len(meta['seen_classes']),
        'model.class_names': osp.join(data_root, 'split.json'),
        'train_dataloader.dataset.data_root': data_root,
        'test_dataloader.dataset.data_root': data_root,
        'test_dataloader.dataset.metainfo': dict(
            class_levels=meta['class_levels'],
            class_parents=meta['class_parents']),
    }
    cfg.merge_from_dict(opts)
    if protocol:
        cfg.test_evaluator = dict(cfg.test_evaluator, **protocol)
    if max_epochs is not None:
        if max_epochs < 1:
            raise ValueError(f'max_epochs must be >= 1, got {max_epochs}')
        cfg.train_cfg.max_epochs = max_epochs
        cfg.default_hooks.checkpoint.interval = max_epochs
        for sched in cfg.param_scheduler:
            if sched.type == 'CosineAnnealingLR':
                sched.end = max_epochs
    return cfg


def train_and_test_image_model(config: str, data_root: str, checkpoint: str,
                               meta: dict, work_dir: str,
                               protocol: dict,
                               max_epochs: Optional[int] = None
                               ) -> Dict[str, dict]:
    """Train MKT / SigRL on the world's seen labels and test it.

    Args:
        config (str): ``mkt_demo.py`` or ``sigrl_demo.py``.
        data_root (str): The built world.
        checkpoint (str): The tiny CLIP checkpoint.
        meta (dict): The world's ``world.json``.
        work_dir (str): Runner work dir.
        protocol (dict): The results table's protocol (``empty_class``,
            ``drop_empty_images``).
        max_epochs (int, optional): Override the config's epochs.

    Returns:
        dict: ``{'table': metrics}`` under ``protocol`` and, when it
        differs, ``{'own': metrics}`` under the config's protocol (MKT /
        SigRL: every test image scored).
    """
    from granzsl_mm.engine import build_runner, prepare_test_cfg, prepare_train_cfg
    name = osp.splitext(osp.basename(config))[0]
    cfg = image_model_config(config, data_root, checkpoint, meta, max_epochs)
    own = dict(empty_class=cfg.test_evaluator.get('empty_class', 'zero'),
               drop_empty_images=cfg.test_evaluator.get('drop_empty_images',
                                                        False))
    test_cfg = cfg.copy()
    prepare_train_cfg(cfg, config, work_dir=work_dir)
    quiet_stage(cfg, work_dir, f'{name}_train')
    build_runner(cfg).train()
    ckpt = osp.join(work_dir, f'epoch_{cfg.train_cfg.max_epochs}.pth')
    out = {}
    runs = [('table', dict(protocol))]
    if dict(protocol) != own:
        runs.append(('own', own))
    for key, proto in runs:
        tcfg = test_cfg.copy()
        tcfg.test_evaluator = dict(tcfg.test_evaluator, **proto)
        prepare_test_cfg(tcfg, config, ckpt, work_dir=work_dir)
        out[key] = _test_stage(tcfg, osp.join(work_dir, f'test_{key}'),
                         f'{name}_test_{key}')
    return out
