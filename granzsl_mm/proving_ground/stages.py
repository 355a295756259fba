"""The stages of a world run, each a Runner job on a built world.

:func:`granzsl_mm.proving_ground.pipeline.run_world` chains them: the tiny
CLIP's pre-training (and the SigLIP-style tower's, the sigmoid loss), the
demo config of a method pointed at the world and its tiny CLIP, the CLIP
prompt baseline, TagCLIP's training-free scores and the SigLIP-style
tower's sigmoid scores of the same prompts, GranZSL (text-only training,
tests with and without snippets), TaI-DPT (prompts trained on the world's
captions) and the methods trained on the seen labels' images (MKT / SigRL
fine-tune the image tower; DualCoOp learns prompt contexts;
Recover-and-Match adapters and prompts).

Choices are made on the world's validation split, never on its test
images. A world without one (the first world, ``make demo``) keeps the
configs' choices: their learning rate and their last epoch. A world with
one (the evidence world) trains with a checkpoint per epoch; every
checkpoint (and, for the methods trained on images, every learning rate
of a stated grid) is scored on the validation images
(``instances_val.json``, drawn like the test images from their own seed),
and only the chosen one is tested; TagCLIP and the SigLIP-style tower's
scores, like the prompts, have nothing to choose. The criterion is
:func:`val_criterion`: the mean of ZSL and GZSL mAP on the validation
images under the results table's protocol. The mAP metrics need no
threshold, so there is none to choose.
"""
import copy
import hashlib
import json
import os.path as osp
from typing import Dict, List, Optional, Sequence

import numpy as np
from mmengine.config import Config

from granzsl_mm.datasets.descriptions.io import atomic_write_json
from granzsl_mm.models.backbones.tower_weights import DEMO_CLIP_FILE

from .world import WorldSpec

__all__ = ['DEMO_TEMPLATES', 'VAL_ANN_FILE', 'quiet_stage', 'test_stage',
           'pretrain_tiny_clip', 'demo_config', 'image_model_config',
           'load_test_targets', 'config_protocol', 'val_criterion',
           'select_best', 'per_level_ap', 'clip_zero_shot',
           'sigmoid_zero_shot_config', 'sigmoid_zero_shot',
           'tagclip_config', 'tagclip_zero_shot', 'train_and_test_granzsl',
           'train_and_test_image_model', 'image_lr']

# Prompts in the words of the world's captions (the tiny CLIP knows no
# "photo"); the GranZSL demo config uses the same ones.
DEMO_TEMPLATES = ['a picture of a {}.', 'there is a {}.', 'an image with a {}.']
VAL_ANN_FILE = 'annotations/instances_val.json'


def quiet_stage(cfg: Config, work_dir: str, name: str) -> Config:
    """Log warnings only and show a progress bar instead (one stage).

    Also fills the registries (:func:`granzsl_mm.register_all_modules`):
    a stage may be the first Runner job of a process.

    Args:
        cfg (Config): The stage's config (changed in place).
        work_dir (str): Runner work dir.
        name (str): Stage name (logger, visualizer, progress bar).

    Returns:
        Config: The same config.
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


def pretrain_tiny_clip(config: str, data_root: str, work_dir: str,
                       max_iters: Optional[int] = None,
                       force: bool = False,
                       seed: Optional[int] = None) -> str:
    """Pre-train the tiny CLIP (or reuse the cached checkpoint).

    The checkpoint goes into the data root under the file name of the
    config's export hook (``tiny_clip.pt``; the SigLIP-style tower's config:
    ``tiny_siglip.pt``). It is reused when its sidecar (the same name with
    ``.json``) records the same world build and config; where the world
    lies is no part of that key, so a copied or moved data root reuses its
    tiny CLIP.

    Args:
        config (str): Pre-training config (``pretrain_tiny_clip_demo.py``
            or ``pretrain_tiny_siglip_demo.py``).
        data_root (str): The built world.
        work_dir (str): Runner work dir (logs, mmengine checkpoint).
        max_iters (int, optional): Override the config's iterations.
        force (bool): Train even when the cache matches.
        seed (int, optional): Training seed (``randomness.seed``; default:
            the config's).

    Returns:
        str: Path of the open_clip checkpoint.
    """
    from granzsl_mm.engine import build_runner, prepare_train_cfg

    from .world_io import load_world_meta
    meta = load_world_meta(data_root)
    if meta is None:
        raise FileNotFoundError(f'no synthetic world in {data_root}; build it '
                                'first (tools/make_demo_data.py)')
    cfg = Config.fromfile(config)
    if seed is not None:
        cfg.randomness = dict(cfg.get('randomness') or {}, seed=int(seed))
    if max_iters is not None:
        if max_iters < 4:
            raise ValueError(f'max_iters must be >= 4, got {max_iters}')
        warm = min(cfg.get('warmup_iters', 0), max_iters // 4)
        cfg.train_cfg.max_iters = max_iters
        cfg.param_scheduler[0].end = warm
        cfg.param_scheduler[1].update(begin=warm, end=max_iters,
                                      T_max=max_iters - warm)
        cfg.default_hooks.checkpoint.interval = max_iters
    exports = [hook for hook in cfg.custom_hooks
               if str(hook.get('type', '')).endswith('ExportOpenCLIPHook')]
    name = DEMO_CLIP_FILE
    if exports and exports[0].get('out_file'):
        name = osp.basename(exports[0]['out_file'])
    out = osp.join(data_root, name)
    # the key before the data root is set: the world's build identifies it
    key = hashlib.sha1(json.dumps(
        [meta['build'], cfg.pretty_text], sort_keys=True).encode()).hexdigest()
    cfg.merge_from_dict({'train_dataloader.dataset.data_root': data_root})
    sidecar = osp.splitext(out)[0] + '.json'
    if not force and osp.isfile(out) and osp.isfile(sidecar):
        with open(sidecar, encoding='utf-8') as f:
            if json.load(f).get('key') == key:
                return out
    for hook in exports:
        hook['out_file'] = out
    prepare_train_cfg(cfg, config, work_dir=work_dir)
    quiet_stage(cfg, work_dir, 'pretrain_' + osp.splitext(name)[0])
    cfg.default_hooks.logger.interval = max(
        1, min(cfg.default_hooks.logger.interval, cfg.train_cfg.max_iters))
    build_runner(cfg).train()
    atomic_write_json(dict(key=key, config=osp.basename(config)), sidecar)
    return out


def _world_config(config: str, data_root: str, checkpoint: str, meta: dict,
                  options: dict) -> Config:
    """A demo config with the world's classes, test data and tiny CLIP, and
    the method's own ``options`` (dotted keys)."""
    cfg = Config.fromfile(config)
    cfg.merge_from_dict({
        'model.backbone.pretrained': checkpoint,
        'model.num_classes': len(meta['classes']),
        'model.num_seen_classes': len(meta['seen_classes']),
        'test_dataloader.dataset.data_root': data_root,
        # granularity levels / parents: per-level AP in the reports
        'test_dataloader.dataset.metainfo': dict(
            class_levels=meta['class_levels'],
            class_parents=meta['class_parents'],
            # the level names of the reports' plots (the first world's
            # spec leaves its levels out of world.json)
            level_names=list(meta['spec'].get('levels')
                             or WorldSpec().levels)),
        **options})
    return cfg


def demo_config(config: str, data_root: str, checkpoint: str,
                meta: dict, max_epochs: Optional[int] = None) -> Config:
    """A GranZSL demo config pointed at a world and a tiny CLIP checkpoint.

    Args:
        config (str): ``granzsl_demo.py`` or an ablation of it.
        data_root (str): The built world.
        checkpoint (str): The tiny CLIP checkpoint.
        meta (dict): The world's ``world.json``.
        max_epochs (int, optional): Override the epochs (>= 2: a warm-up
            epoch, then the cosine).

    Returns:
        Config: The config.
    """
    cfg = _world_config(config, data_root, checkpoint, meta, {
        'train_dataloader.dataset.description_file':
        osp.join(data_root, 'descriptions.json'),
        'train_dataloader.dataset.split_file': osp.join(data_root,
                                                        'split.json')})
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


def image_model_config(config: str, data_root: str, checkpoint: str,
                       meta: dict, max_epochs: Optional[int] = None,
                       protocol: Optional[dict] = None) -> Config:
    """A demo config of a method trained on the seen labels' images (or,
    TaI-DPT, on the world's captions) pointed at a world and a tiny CLIP.

    Args:
        config (str): ``mkt_demo.py``, ``sigrl_demo.py``,
            ``dualcoop_demo.py``, ``recover_match_demo.py`` or
            ``taidpt_demo.py``.
        data_root (str): The built world.
        checkpoint (str): The tiny CLIP checkpoint.
        meta (dict): The world's ``world.json``.
        max_epochs (int, optional): Override the epochs (the warm-up stays a
            quarter epoch, the cosine ends with the last epoch). A warm-up
            shorter than one iteration (few images) is left out.
        protocol (dict, optional): ``empty_class`` / ``drop_empty_images``
            of the test evaluator (None: the config's, all images scored).

    Returns:
        Config: The config.
    """
    cfg = _world_config(config, data_root, checkpoint, meta, {
        'model.class_names': osp.join(data_root, 'split.json'),
        'train_dataloader.dataset.data_root': data_root})
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
    # mmengine truncates fractional epochs to iterations: under 4 iterations
    # an epoch, the quarter-epoch warm-up spans none (which mmengine
    # refuses), so it is left out there
    from granzsl_mm.registry import DATASETS
    loader = cfg.train_dataloader
    images = len(DATASETS.build(dict(loader.dataset, pipeline=[])))
    iters = images // loader.batch_size if loader.get('drop_last') else \
        -(-images // loader.batch_size)
    cfg.param_scheduler = [
        s for s in cfg.param_scheduler if not s.get('convert_to_iter_based')
        or int(s.end * iters) > int(s.begin * iters)]
    return cfg


def load_test_targets(cfg: Config) -> np.ndarray:
    """``[N, C]`` labels of the config's test set (seen then unseen)."""
    from granzsl_mm.registry import DATASETS
    ds_cfg = copy.deepcopy(cfg.test_dataloader.dataset)
    ds_cfg['pipeline'] = []
    dataset = DATASETS.build(ds_cfg)
    return np.stack([np.asarray(dataset.get_data_info(i)['gt_score'])
                     for i in range(len(dataset))])


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
                 label_set: str = 'zsl',
                 empty_class: str = 'zero') -> Dict[str, Optional[float]]:
    """Mean AP of the unseen classes per granularity level, from a test's
    ``per_class_ap.json``.

    A class without positives among the scored images (possible in a small
    world) has no AP in the report (None); it is counted as the mAP counts
    it (``empty_class``).

    Args:
        reports_dir (str): The test's ``reports`` folder.
        level_names (Sequence[str]): Level index -> name (``spec.levels``).
        label_set (str): ``'zsl'`` (unseen classes scored alone) or
            ``'gzsl'`` (the unseen classes' AP among all classes).
        empty_class (str): ``'zero'`` (the table's protocol: such a class
            counts 0) or ``'skip'`` (left out of its level's mean).

    Returns:
        dict: Level name -> mean AP (%) of its unseen classes (levels
        without unseen classes left out; None for a level whose unseen
        classes all have no positives, under ``'skip'``).

    Raises:
        ValueError: An unknown ``empty_class``.
    """
    if empty_class not in ('zero', 'skip'):
        raise ValueError(f"empty_class must be 'zero' or 'skip', got "
                         f'{empty_class!r}')
    with open(osp.join(reports_dir, 'per_class_ap.json'),
              encoding='utf-8') as f:
        per_class = json.load(f)['per_class']
    by_level: Dict[int, List[float]] = {}
    for row in per_class:
        if row['label_set'] == label_set and row['split'] == 'unseen':
            ap = row['AP']
            if ap is None or ap != ap:  # no positives (None, or NaN)
                ap = 0.0 if empty_class == 'zero' else None
            vals = by_level.setdefault(int(row['level']), [])
            if ap is not None:
                vals.append(float(ap))
    return {level_names[k]: (float(sum(v) / len(v)) if v else None)
            for k, v in sorted(by_level.items())}


def _prompt_config(cfg: Config, meta: dict, templates: List[str],
                   dense: Optional[str], **scoring) -> Config:
    """A test-only copy of a demo config whose model is the zero-shot
    classifier of the world's class names in ``templates`` (``scoring``:
    its score settings)."""
    cfg = copy.deepcopy(cfg)
    backbone = dict(cfg.model.backbone, dense_mode=dense)
    cfg.model = dict(
        type='ZeroShotMultiLabelClassifier', backbone=backbone,
        class_names=meta['classes'],
        num_seen_classes=len(meta['seen_classes']), templates=templates,
        **scoring, data_preprocessor=cfg.model.data_preprocessor)
    for key in ('train_dataloader', 'train_cfg', 'optim_wrapper',
                'param_scheduler'):
        cfg[key] = None
    cfg.load_from = None
    return cfg


def clip_zero_shot(cfg: Config, meta: dict, work_dir: str,
                   templates: List[str] = DEMO_TEMPLATES,
                   score_mode: str = 'global') -> Dict[str, float]:
    """CLIP prompt baseline: class names in templates, no learning.

    Args:
        cfg (Config): A demo config (from :func:`demo_config`; not changed).
        meta (dict): The world's ``world.json``.
        work_dir (str): Where its reports go.
        templates (list[str]): Prompt templates (ensemble).
        score_mode (str): ``'global'`` (CLIP's image embedding) or
            ``'both'`` (global + ClearCLIP dense cosines pooled as GranZSL
            does: the same scoring with prompts instead of learned names).

    Returns:
        dict: The test metrics (``zsl/mAP``, ``gzsl/mAP``, ...).
    """
    dense = None if score_mode == 'global' else 'clearclip'
    cfg = _prompt_config(cfg, meta, templates, dense, score_mode=score_mode,
                         local_pooling='softmax',
                         logit_scale=cfg.model.logit_scale)
    return test_stage(cfg, work_dir, f'clip_zero_shot_{score_mode}')


def sigmoid_zero_shot_config(cfg: Config, meta: dict, checkpoint: str,
                             arch: str,
                             templates: List[str] = DEMO_TEMPLATES,
                             score_mode: str = 'global') -> Config:
    """The SigLIP-style baseline's test config: the CLIP prompt baseline's
    (:func:`clip_zero_shot`: the world, the same prompts, the same dense
    features) on the tower pre-trained with the sigmoid loss, scored as
    SigLIP scores, ``sigmoid(s * cos + b)`` with the tower's learned
    temperature ``s`` and bias ``b`` (training-free, nothing to choose).

    Args:
        cfg (Config): A demo config (from :func:`demo_config`; not changed).
        meta (dict): The world's ``world.json``.
        checkpoint (str): The sigmoid-loss tower (``tiny_siglip.pt``).
        arch (str): Its open_clip architecture (the pre-training config's,
            ``'TinyCLIP-world-sigmoid'``: the CLS-pooled tiny ViT with a
            learned ``logit_bias``).
        templates (list[str]): Prompt templates (ensemble).
        score_mode (str): ``'global'`` or ``'both'`` (global + ClearCLIP
            dense cosines pooled as GranZSL does, before the bias and the
            sigmoid).

    Returns:
        Config: A test-ready config.
    """
    cfg = copy.deepcopy(cfg)
    cfg.model.backbone = dict(cfg.model.backbone, arch=arch,
                              pretrained=checkpoint)
    dense = None if score_mode == 'global' else 'clearclip'
    return _prompt_config(cfg, meta, templates, dense, score_mode=score_mode,
                          local_pooling='softmax', logit_scale='clip',
                          logit_bias='clip', score_act='sigmoid')


def sigmoid_zero_shot(cfg: Config, meta: dict, work_dir: str,
                      checkpoint: str, arch: str,
                      templates: List[str] = DEMO_TEMPLATES,
                      score_mode: str = 'global') -> Dict[str, float]:
    """The SigLIP-style baseline (:func:`sigmoid_zero_shot_config`),
    tested.

    Args:
        cfg (Config): A demo config (from :func:`demo_config`; not changed).
        meta (dict): The world's ``world.json``.
        work_dir (str): Where its reports go.
        checkpoint (str): The sigmoid-loss tower.
        arch (str): Its open_clip architecture.
        templates (list[str]): Prompt templates (ensemble).
        score_mode (str): ``'global'`` or ``'both'``.

    Returns:
        dict: The test metrics (``zsl/mAP``, ``gzsl/mAP``, ...).
    """
    return test_stage(sigmoid_zero_shot_config(cfg, meta, checkpoint, arch,
                                               templates, score_mode),
                      work_dir, f'sigmoid_zero_shot_{score_mode}')


def tagclip_config(cfg: Config, meta: dict, config: str,
                   templates: List[str] = DEMO_TEMPLATES) -> Config:
    """The TagCLIP baseline's test config: the CLIP prompt baseline's
    (:func:`clip_zero_shot`: the world, its tiny CLIP, the same prompts)
    with the score settings of a TagCLIP config (``score_mode``,
    ``logit_scale``, ``tagclip``; training-free, nothing to choose).

    Args:
        cfg (Config): A demo config (from :func:`demo_config`; not changed).
        meta (dict): The world's ``world.json``.
        config (str): ``tagclip_demo.py``.
        templates (list[str]): Prompt templates (ensemble).

    Returns:
        Config: A test-ready config (no checkpoint: the tiny CLIP's own
        weights).
    """
    model = Config.fromfile(config).model
    # TagCLIP runs its own dense pass; the backbone's dense mode is unused
    return _prompt_config(cfg, meta, templates, None,
                          score_mode=model.score_mode,
                          logit_scale=model.logit_scale,
                          tagclip=dict(model.get('tagclip') or {}))


def tagclip_zero_shot(cfg: Config, meta: dict, work_dir: str, config: str,
                      templates: List[str] = DEMO_TEMPLATES
                      ) -> Dict[str, float]:
    """TagCLIP's training-free scores (:func:`tagclip_config`), tested.

    Args:
        cfg (Config): A demo config (from :func:`demo_config`; not changed).
        meta (dict): The world's ``world.json``.
        work_dir (str): Where its reports go.
        config (str): ``tagclip_demo.py``.
        templates (list[str]): Prompt templates (ensemble).

    Returns:
        dict: The test metrics (``zsl/mAP``, ``gzsl/mAP``, ...).
    """
    return test_stage(tagclip_config(cfg, meta, config, templates), work_dir,
                      'tagclip_zero_shot')


def config_protocol(cfg: Config) -> dict:
    """``empty_class`` / ``drop_empty_images`` of a config's test
    evaluator (the defaults where it names none)."""
    return dict(empty_class=cfg.test_evaluator.get('empty_class', 'zero'),
                drop_empty_images=cfg.test_evaluator.get('drop_empty_images',
                                                         False))


def _prepare_run(cfg: Config, seed: Optional[int], validate: bool) -> Config:
    """The training seed (None: the config's) and, to choose an epoch on
    the validation images, a checkpoint per epoch."""
    if seed is not None:
        cfg.randomness = dict(seed=int(seed), deterministic=False)
    if validate:
        epochs = cfg.train_cfg.max_epochs
        cfg.default_hooks.checkpoint.update(interval=1, max_keep_ckpts=epochs)
    return cfg


def _train(cfg: Config, config: str, work_dir: str, name: str) -> int:
    """Train a prepared config; return its last epoch."""
    from granzsl_mm.engine import build_runner, prepare_train_cfg
    prepare_train_cfg(cfg, config, work_dir=work_dir)
    quiet_stage(cfg, work_dir, f'{name}_train')
    build_runner(cfg).train()
    return cfg.train_cfg.max_epochs


def _validate(test_cfg: Config, config: str, work_dir: str, name: str,
              epochs: int, protocol: Optional[dict] = None) -> List[dict]:
    """Score every epoch's checkpoint on the validation images (without
    test-time augmentation), under ``protocol`` (None: the config's).

    Returns:
        list[dict]: Per epoch ``epoch``, ``score`` (:func:`val_criterion`),
        ``zsl`` and ``gzsl`` mAP.
    """
    from granzsl_mm.engine import prepare_test_cfg
    out = []
    for epoch in range(1, epochs + 1):
        vcfg = copy.deepcopy(test_cfg)
        vcfg.test_dataloader.dataset.ann_file = VAL_ANN_FILE
        if protocol is not None:
            vcfg.test_evaluator = dict(vcfg.test_evaluator, **protocol)
        prepare_test_cfg(vcfg, config,
                         osp.join(work_dir, f'epoch_{epoch}.pth'),
                         work_dir=work_dir)
        metrics = test_stage(vcfg, osp.join(work_dir, f'val_epoch_{epoch}'),
                             f'{name}_val_{epoch}', reports=False)
        out.append(dict(epoch=epoch, score=val_criterion(metrics),
                        zsl=metrics['zsl/mAP'], gzsl=metrics['gzsl/mAP']))
    return out


def train_and_test_granzsl(config: str, data_root: str, checkpoint: str,
                           meta: dict, work_dir: str,
                           seed: Optional[int] = None,
                           max_epochs: Optional[int] = None,
                           validate: bool = False,
                           level_names: Optional[Sequence[str]] = None
                           ) -> Dict:
    """Train GranZSL (text only) and test it without and with snippets.

    Args:
        config (str): ``granzsl_demo.py`` or an ablation of it.
        data_root (str): The built world.
        checkpoint (str): The tiny CLIP.
        meta (dict): The world's ``world.json``.
        work_dir (str): Runner work dir.
        seed (int, optional): Training seed (``randomness.seed``; None: the
            config's).
        max_epochs (int, optional): Override the config's epochs.
        validate (bool): Choose the epoch on the validation images (scored
            without snippets; the world needs a validation split); else
            the last epoch is tested.
        level_names (Sequence[str], optional): Level names for the
            per-level AP of the unseen classes.

    Returns:
        dict: ``plain`` / ``snippets`` test metrics; ``selected``
        (``epoch``, ``val`` scores of every epoch) when ``validate``;
        ``levels`` (per-level unseen AP of each test) when ``level_names``
        is given.
    """
    from granzsl_mm.engine import prepare_test_cfg
    name = osp.splitext(osp.basename(config))[0]
    cfg = _prepare_run(demo_config(config, data_root, checkpoint, meta,
                                   max_epochs), seed, validate)
    test_cfg = copy.deepcopy(cfg)
    epochs = _train(cfg, config, work_dir, name)
    out = {}
    epoch = epochs
    if validate:
        candidates = _validate(test_cfg, config, work_dir, name, epochs)
        epoch = select_best(candidates)['epoch']
        out['selected'] = dict(epoch=epoch, val=candidates)
    ckpt = osp.join(work_dir, f'epoch_{epoch}.pth')
    levels = {}
    for key, tta in (('plain', False), ('snippets', True)):
        tcfg = copy.deepcopy(test_cfg)
        prepare_test_cfg(tcfg, config, ckpt, work_dir=work_dir, tta=tta)
        tdir = osp.join(work_dir, f'test_{key}')
        out[key] = test_stage(tcfg, tdir, f'{name}_test_{key}')
        if level_names is not None:
            levels[key] = per_level_ap(
                osp.join(tdir, 'reports'), level_names,
                empty_class=config_protocol(tcfg)['empty_class'])
    if level_names is not None:
        out['levels'] = levels
    return out


def image_lr(optim_wrapper: dict, lr: Optional[float] = None) -> float:
    """Set (``lr`` given) and return the rate the grid of an image method
    chooses.

    One optimizer: its rate. Several (named optim wrappers, no top-level
    ``optimizer``; RecoverMatch's AdamW + SGD): the first wrapper's rate is
    the grid's, and every wrapper's rate is scaled by the same ratio, so the
    config's ratios between optimizers are kept.

    Args:
        optim_wrapper (dict): The config's ``optim_wrapper`` (edited).
        lr (float, optional): The grid's rate.

    Returns:
        float: The (first) optimizer's rate.
    """
    optimizers = [optim_wrapper['optimizer']] if 'optimizer' in optim_wrapper \
        else [v['optimizer'] for v in optim_wrapper.values()
              if isinstance(v, dict) and 'optimizer' in v]
    if lr is not None:
        ratio = float(lr) / float(optimizers[0]['lr'])
        for opt in optimizers[1:]:
            opt['lr'] = float(opt['lr']) * ratio
        optimizers[0]['lr'] = float(lr)
    return float(optimizers[0]['lr'])


def train_and_test_image_model(config: str, data_root: str, checkpoint: str,
                               meta: dict, work_dir: str, protocol: dict,
                               seed: Optional[int] = None,
                               lrs: Optional[Sequence[float]] = None,
                               max_epochs: Optional[int] = None,
                               validate: bool = False,
                               level_names: Optional[Sequence[str]] = None
                               ) -> Dict:
    """Train an image method (MKT, SigRL, DualCoOp, Recover-and-Match) on
    the world's seen labels, or TaI-DPT on the world's captions, and test
    it under the results table's protocol and under the config's own.

    Without ``lrs`` it trains once at the config's learning rate in
    ``work_dir``; with a grid, once per learning rate in
    ``work_dir/lr_<lr>``. With ``validate`` the learning rate and the epoch
    are chosen on the validation images; else the last epoch (of the one
    learning rate) is tested.

    Args:
        config (str): ``mkt_demo.py``, ``sigrl_demo.py``,
            ``dualcoop_demo.py``, ``recover_match_demo.py`` or
            ``taidpt_demo.py``.
        data_root (str): The built world.
        checkpoint (str): The tiny CLIP.
        meta (dict): The world's ``world.json``.
        work_dir (str): Runner work dir.
        protocol (dict): The results table's ``empty_class`` /
            ``drop_empty_images`` (also used on the validation images).
        seed (int, optional): Training seed, the same for every learning
            rate (None: the config's).
        lrs (Sequence[float], optional): The learning-rate grid.
        max_epochs (int, optional): Override the config's epochs.
        validate (bool): Choose on the validation images (the world needs
            a validation split).
        level_names (Sequence[str], optional): For per-level unseen AP.

    Returns:
        dict: ``table`` test metrics and, when the config's protocol
        differs, ``own`` (MKT / SigRL: every test image scored);
        ``selected`` (``lr``, ``epoch``, every candidate's validation
        scores) when ``validate``; ``levels`` (of the ``table`` test) when
        ``level_names`` is given.

    Raises:
        ValueError: An empty grid, or a grid of several rates without
            ``validate`` (nothing to choose with).
    """
    from granzsl_mm.engine import prepare_test_cfg
    if lrs is not None and not lrs:
        raise ValueError('the learning-rate grid is empty')
    if lrs is not None and len(lrs) > 1 and not validate:
        raise ValueError('choosing a learning rate of the grid needs the '
                         'validation images (validate=True)')
    name = osp.splitext(osp.basename(config))[0]
    candidates, runs = [], {}
    for lr in (lrs if lrs is not None else [None]):
        cfg = image_model_config(config, data_root, checkpoint, meta,
                                 max_epochs)
        if lr is not None:
            image_lr(cfg.optim_wrapper, lr)
        _prepare_run(cfg, seed, validate)
        test_cfg = copy.deepcopy(cfg)
        run_dir, run_name = work_dir, name
        if lr is not None:
            run_dir = osp.join(work_dir, f'lr_{lr:g}')
            run_name = f'{name}_lr_{lr:g}'
        runs[lr] = (test_cfg, run_dir, config_protocol(cfg))
        epochs = _train(cfg, config, run_dir, run_name)
        if validate:
            candidates += [dict(lr=image_lr(cfg.optim_wrapper), **c)
                           for c in _validate(test_cfg, config, run_dir,
                                              run_name, epochs, protocol)]
        else:
            candidates.append(dict(lr=lr, epoch=epochs))
    out = {}
    best = candidates[-1]
    if validate:
        best = select_best(candidates)
        out['selected'] = dict(lr=best['lr'], epoch=best['epoch'],
                               val=candidates)
    test_cfg, run_dir, own = runs[best['lr'] if lrs is not None else None]
    ckpt = osp.join(run_dir, f"epoch_{best['epoch']}.pth")
    tests = [('table', dict(protocol))]
    if dict(protocol) != own:
        tests.append(('own', own))
    levels = {}
    for key, proto in tests:
        tcfg = copy.deepcopy(test_cfg)
        tcfg.test_evaluator = dict(tcfg.test_evaluator, **proto)
        prepare_test_cfg(tcfg, config, ckpt, work_dir=run_dir)
        tdir = osp.join(work_dir, f'test_{key}')
        out[key] = test_stage(tcfg, tdir, f'{name}_test_{key}')
        if level_names is not None and key == 'table':
            levels[key] = per_level_ap(
                osp.join(tdir, 'reports'), level_names,
                empty_class=proto.get('empty_class', 'zero'))
    if level_names is not None:
        out['levels'] = levels
    return out
