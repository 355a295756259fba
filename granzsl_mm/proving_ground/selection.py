"""Choices made on the world's validation split, never on its test images.

Each learned method of the proving ground trains with a checkpoint per
epoch; every checkpoint (and, for MKT / SigRL, every learning rate of a
stated grid) is scored on the validation images (``instances_val.json``,
drawn like the test images from their own seed), and only the chosen one
is tested. The criterion is :func:`val_criterion`: the mean of ZSL and GZSL
mAP on the validation images under the results table's protocol. The mAP
metrics need no threshold, so there is none to choose.
"""
import copy
import json
import os.path as osp
from typing import Dict, List, Optional, Sequence

from mmengine.config import Config

from .stages import demo_config, image_model_config, quiet_stage, test_stage

__all__ = ['VAL_ANN_FILE', 'val_criterion', 'select_best', 'per_level_ap',
           'granzsl_with_selection', 'image_model_with_selection']

VAL_ANN_FILE = 'annotations/instances_val.json'


def val_criterion(metrics: Dict[str, float]) -> float:
    """The selection score: mean of ZSL and GZSL mAP (validation images)."""
    return 0.5 * (metrics['zsl/mAP'] + metrics['gzsl/mAP'])


def select_best(candidates: Sequence[dict]) -> dict:
    """The candidate with the highest ``score``; ties go to the first (the
    smaller learning rate, the earlier epoch, as listed)."""
    if not candidates:
        raise ValueError('no candidates to select from')
    best = candidates[0]
    for cand in candidates[1:]:
        if cand['score'] > best['score']:
            best = cand
    return best


def per_level_ap(reports_dir: str, level_names: Sequence[str],
                 label_set: str = 'zsl') -> Dict[str, float]:
    """Mean AP of the unseen classes per granularity level, from a test's
    ``per_class_ap.json``.

    Args:
        reports_dir (str): The test's ``reports`` folder.
        level_names (Sequence[str]): Level index -> name (``spec.levels``).
        label_set (str): ``'zsl'`` (unseen classes scored alone) or
            ``'gzsl'`` (the unseen classes' AP among all classes).

    Returns:
        dict: Level name -> mean AP (%) of its unseen classes (levels
        without unseen classes left out).
    """
    with open(osp.join(reports_dir, 'per_class_ap.json'),
              encoding='utf-8') as f:
        per_class = json.load(f)['per_class']
    by_level: Dict[int, List[float]] = {}
    for row in per_class:
        if row['label_set'] == label_set and row['split'] == 'unseen':
            by_level.setdefault(int(row['level']), []).append(row['AP'])
    return {level_names[k]: float(sum(v) / len(v))
            for k, v in sorted(by_level.items())}


def _val_config(cfg: Config) -> Config:
    cfg = copy.deepcopy(cfg)
    cfg.test_dataloader.dataset.ann_file = VAL_ANN_FILE
    return cfg


def _per_epoch_checkpoints(cfg: Config) -> None:
    epochs = cfg.train_cfg.max_epochs
    cfg.default_hooks.checkpoint.update(interval=1, max_keep_ckpts=epochs)


def granzsl_with_selection(config: str, data_root: str, checkpoint: str,
                           meta: dict, work_dir: str, seed: int,
                           max_epochs: Optional[int] = None,
                           level_names: Optional[Sequence[str]] = None
                           ) -> Dict:
    """Train GranZSL (text only), choose the epoch on the validation
    images (without snippets), test that checkpoint with and without
    snippets.

    Args:
        config (str): ``granzsl_demo.py`` or an ablation of it.
        data_root (str): The built world (with a validation split).
        checkpoint (str): The tiny CLIP.
        meta (dict): The world's ``world.json``.
        work_dir (str): Runner work dir.
        seed (int): Training seed (``randomness.seed``).
        max_epochs (int, optional): Override the config's epochs.
        level_names (Sequence[str], optional): Level names for the
            per-level AP of the unseen classes.

    Returns:
        dict: ``plain`` / ``snippets`` test metrics, ``selected``
        (``epoch``, ``val`` scores of every epoch), ``levels`` (per-level
        unseen AP of each test, when ``level_names`` is given).
    """
    from granzsl_mm.engine import build_runner, prepare_test_cfg, prepare_train_cfg
    name = osp.splitext(osp.basename(config))[0]
    cfg = demo_config(config, data_root, checkpoint, meta, max_epochs)
    cfg.randomness = dict(seed=int(seed), deterministic=False)
    _per_epoch_checkpoints(cfg)
    test_cfg = copy.deepcopy(cfg)
    prepare_train_cfg(cfg, config, work_dir=work_dir)
    quiet_stage(cfg, work_dir, f'{name}_train')
    build_runner(cfg).train()
    candidates = []
    for epoch in range(1, cfg.train_cfg.max_epochs + 1):
        ckpt = osp.join(work_dir, f'epoch_{epoch}.pth')
        vcfg = _val_config(test_cfg)
        prepare_test_cfg(vcfg, config, ckpt, work_dir=work_dir, tta=False)
        metrics = test_stage(vcfg, osp.join(work_dir, f'val_epoch_{epoch}'),
                             f'{name}_val_epoch_{epoch}', reports=False)
        candidates.append(dict(epoch=epoch, score=val_criterion(metrics),
                               zsl=metrics['zsl/mAP'],
                               gzsl=metrics['gzsl/mAP']))
    best = select_best(candidates)
    ckpt = osp.join(work_dir, f"epoch_{best['epoch']}.pth")
    out = dict(selected=dict(epoch=best['epoch'], val=candidates))
    levels = {}
    for key, tta in (('plain', False), ('snippets', True)):
        tcfg = copy.deepcopy(test_cfg)
        prepare_test_cfg(tcfg, config, ckpt, work_dir=work_dir, tta=tta)
        tdir = osp.join(work_dir, f'test_{key}')
        out[key] = test_stage(tcfg, tdir, f'{name}_test_{key}')
        if level_names is not None:
            levels[key] = per_level_ap(osp.join(tdir, 'reports'), level_names)
    if level_names is not None:
        out['levels'] = levels
    return out


def image_model_with_selection(config: str, data_root: str, checkpoint: str,
                               meta: dict, work_dir: str, protocol: dict,
                               seed: int, lrs: Sequence[float],
                               max_epochs: Optional[int] = None,
                               level_names: Optional[Sequence[str]] = None
                               ) -> Dict:
    """Train MKT / SigRL once per learning rate of ``lrs``, choose the
    learning rate and the epoch on the validation images, test the chosen
    checkpoint under the table's protocol and the config's own.

    Args:
        config (str): ``mkt_demo.py`` or ``sigrl_demo.py``.
        data_root (str): The built world (with a validation split).
        checkpoint (str): The tiny CLIP.
        meta (dict): The world's ``world.json``.
        work_dir (str): Work dir (one sub-folder per learning rate).
        protocol (dict): The results table's ``empty_class`` /
            ``drop_empty_images`` (also used on the validation images).
        seed (int): Training seed (the same for every learning rate).
        lrs (Sequence[float]): The learning-rate grid.
        max_epochs (int, optional): Override the config's epochs.
        level_names (Sequence[str], optional): For per-level unseen AP.

    Returns:
        dict: ``table`` (and ``own`` when it differs) test metrics,
        ``selected`` (``lr``, ``epoch``, every candidate's validation
        scores), ``levels``.
    """
    from granzsl_mm.engine import build_runner, prepare_test_cfg, prepare_train_cfg
    if not lrs:
        raise ValueError('the learning-rate grid is empty')
    name = osp.splitext(osp.basename(config))[0]
    candidates, test_cfgs = [], {}
    for lr in lrs:
        cfg = image_model_config(config, data_root, checkpoint, meta,
                                 max_epochs)
        cfg.optim_wrapper.optimizer.lr = float(lr)
        cfg.randomness = dict(seed=int(seed), deterministic=False)
        _per_epoch_checkpoints(cfg)
        own = dict(empty_class=cfg.test_evaluator.get('empty_class', 'zero'),
                   drop_empty_images=cfg.test_evaluator.get(
                       'drop_empty_images', False))
        test_cfg = copy.deepcopy(cfg)
        lr_dir = osp.join(work_dir, f'lr_{lr:g}')
        test_cfgs[lr] = (test_cfg, lr_dir, own)
        prepare_train_cfg(cfg, config, work_dir=lr_dir)
        quiet_stage(cfg, lr_dir, f'{name}_lr_{lr:g}_train')
        build_runner(cfg).train()
        for epoch in range(1, cfg.train_cfg.max_epochs + 1):
            vcfg = _val_config(test_cfg)
            vcfg.test_evaluator = dict(vcfg.test_evaluator, **protocol)
            prepare_test_cfg(vcfg, config,
                             osp.join(lr_dir, f'epoch_{epoch}.pth'),
                             work_dir=lr_dir)
            metrics = test_stage(vcfg, osp.join(lr_dir, f'val_epoch_{epoch}'),
                                 f'{name}_lr_{lr:g}_val_{epoch}',
                                 reports=False)
            candidates.append(dict(lr=float(lr), epoch=epoch,
                                   score=val_criterion(metrics),
                                   zsl=metrics['zsl/mAP'],
                                   gzsl=metrics['gzsl/mAP']))
    best = select_best(candidates)
    test_cfg, lr_dir, own = test_cfgs[best['lr']]
    ckpt = osp.join(lr_dir, f"epoch_{best['epoch']}.pth")
    out = dict(selected=dict(lr=best['lr'], epoch=best['epoch'],
                             val=candidates))
    runs = [('table', dict(protocol))]
    if dict(protocol) != own:
        runs.append(('own', own))
    levels = {}
    for key, proto in runs:
        tcfg = copy.deepcopy(test_cfg)
        tcfg.test_evaluator = dict(tcfg.test_evaluator, **proto)
        prepare_test_cfg(tcfg, config, ckpt, work_dir=lr_dir)
        tdir = osp.join(work_dir, f'test_{key}')
        out[key] = test_stage(tcfg, tdir, f'{name}_test_{key}')
        if level_names is not None and key == 'table':
            levels[key] = per_level_ap(osp.join(tdir, 'reports'), level_names)
    if level_names is not None:
        out['levels'] = levels
    return out
