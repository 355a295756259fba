"""The proving ground's one runner: ``make demo`` and ``make evidence``.

:func:`run_world` runs every method on one world:

1. draw the synthetic world (:mod:`granzsl_mm.proving_ground.world`) into
   its data root in the COCO-ZSL formats (reused when already built);
2. pre-train the tiny open_clip model on the world's image-caption pairs
   (``configs/pretrain_tiny_clip_demo.py``; the checkpoint is cached in the
   data root and reused while the world and the config are unchanged) and,
   beside it, the SigLIP-style tower: the same architecture with a learned
   logit bias, the same data, iterations and seed, SigLIP's sigmoid loss
   (:data:`SIGMOID_PRETRAIN_CONFIG`, ``tiny_siglip.pt``, cached alike);
3. the chance mAP of random scores under the table's protocol
   (:mod:`granzsl_mm.evaluation.functional.chance`);
4. the CLIP prompt baselines (``ZeroShotMultiLabelClassifier``, the class
   names in the demo templates), TagCLIP's training-free scores on the
   same prompts (``configs/tagclip_demo.py``'s settings) and the
   SigLIP-style tower's sigmoid scores of the same prompts (global, and
   global + local); nothing to choose;
5. GranZSL's class names trained on the world's descriptions (text only)
   and its ablations, each tested with and without snippets; TaI-DPT's
   prompts trained on the world's captions (:data:`CAPTION_METHODS`);
6. the methods trained on the world's seen labels' images
   (:data:`IMAGE_METHODS`: MKT and SigRL fine-tune the last vision block of
   the tiny CLIP, DualCoOp learns prompt contexts, Recover-and-Match
   adapters and prompts), tested under the table's protocol and their own
   (every image scored);

and writes ``results.json`` / ``results.md`` / ``results.png`` (plus each
method's per-class AP reports) into its work dir. Each stage's result is
cached in ``stages.json`` (:mod:`.stage_cache`), so an interrupted run
resumes where it stopped. On a world with a validation split every choice
(epoch, learning rate) is made on it (:mod:`.stages`).

:func:`run_proving_ground` runs it on one world (``make demo``: the first
world ``'v1'``, in the work dir and data root themselves, the configs'
seeds and choices) or on ``seeds`` independent worlds (``make evidence``:
the evidence world ``'v2'``, ``seed_<i>/`` folders, the seeds of
:func:`seed_plan`) and then writes the evidence report
(:func:`granzsl_mm.proving_ground.report.write_evidence`).
"""
import json
import os
import os.path as osp
import time
from typing import Dict, List, Optional, Sequence

from mmengine.config import Config

from granzsl_mm.evaluation.functional.chance import chance_map, expected_random_ap

from .report import (
    CHANCE,
    DUALCOOP,
    RECOVER_MATCH,
    SIGMOID_BOTH,
    SIGMOID_GLOBAL,
    TAGCLIP,
    TAIDPT,
    write_evidence,
    write_results,
)
from .stage_cache import StageCache, stage_key
from .stages import (
    clip_zero_shot,
    config_protocol,
    demo_config,
    load_test_targets,
    per_level_ap,
    pretrain_tiny_clip,
    sigmoid_zero_shot,
    tagclip_zero_shot,
    train_and_test_granzsl,
    train_and_test_image_model,
)
from .world import get_world

__all__ = ['ABLATIONS', 'IMAGE_METHODS', 'CAPTION_METHODS', 'TAGCLIP_CONFIG',
           'SIGMOID_PRETRAIN_CONFIG', 'WORLD_SETTINGS', 'RESULTS_FORMAT',
           'world_settings', 'seed_plan', 'run_world', 'run_proving_ground']

ABLATIONS = {
    'GranZSL, no pair loss': 'granzsl_demo_no_pair.py',
    'GranZSL, no hierarchy sentences': 'granzsl_demo_no_hierarchy.py',
}
# Methods trained on the seen labels' images: row -> (config, the key of
# their seed in seed_plan and of their grid in WORLD_SETTINGS, '<key>_lrs').
IMAGE_METHODS = {'MKT (stage 1)': ('mkt_demo.py', 'mkt'),
                 'SigRL': ('sigrl_demo.py', 'sigrl'),
                 DUALCOOP: ('dualcoop_demo.py', 'dualcoop'),
                 RECOVER_MATCH: ('recover_match_demo.py', 'recover_match')}
# Methods trained on the world's captions (text only, no image): row ->
# (config, the key of their seed in seed_plan). The epoch is chosen on the
# validation images as GranZSL's; the config's learning rate.
CAPTION_METHODS = {TAIDPT: ('taidpt_demo.py', 'taidpt')}
# TagCLIP's training-free scores (row TAGCLIP): the CLIP prompts with the
# score settings of this config.
TAGCLIP_CONFIG = 'tagclip_demo.py'
# The SigLIP-style tower (rows SIGMOID_GLOBAL / SIGMOID_BOTH): pre-trained
# with this config, which differs from the tiny CLIP's in the loss only.
SIGMOID_PRETRAIN_CONFIG = 'pretrain_tiny_siglip_demo.py'

# Each world's settings (None: the config's). The first world has no
# validation split: the configs' epochs and learning rates. The evidence
# world's grids are stated in docs/demo.md (the MKT / SigRL ones span the
# papers' rates and the ones the first world uses; the DualCoOp /
# Recover-and-Match ones bracket their demo configs' rates, since the
# papers' saturate or barely move the tiny CLIP); 2000 training images
# and 200 pre-training iterations (the config's 300 with the first world's
# 4000) keep 5 worlds near 20 CPU minutes on 2 cores.
WORLD_SETTINGS = {
    'v1': dict(world='v1', num_train=4000, num_test=600, num_val=0,
               pretrain_iters=None, granzsl_epochs=None, image_epochs=None,
               mkt_lrs=None, sigrl_lrs=None, dualcoop_lrs=None,
               recover_match_lrs=None),
    'v2': dict(world='v2', num_train=2000, num_test=600, num_val=300,
               pretrain_iters=200, granzsl_epochs=None, image_epochs=None,
               mkt_lrs=(1e-3, 5e-3, 2e-2), sigrl_lrs=(1e-4, 2e-3, 2e-2),
               dualcoop_lrs=(6e-6, 2e-5, 6e-5),
               recover_match_lrs=(2e-4, 1e-3, 5e-3)),
}
RESULTS_FORMAT = 'granzsl_mm.proving_ground.seed_results/v1'


def world_settings(world: str = 'v1', **overrides) -> Dict:
    """A world's settings (:data:`WORLD_SETTINGS`) with overrides.

    Args:
        world (str): ``'v1'`` or ``'v2'``.
        **overrides: Keys of the settings (``None`` keeps the world's).

    Returns:
        dict: The settings.

    Raises:
        KeyError: An unknown world.
        TypeError: An unknown setting.
    """
    get_world(world)  # fail early on a bad name
    unknown = set(overrides) - set(WORLD_SETTINGS[world])
    if unknown:
        raise TypeError(f'unknown settings {sorted(unknown)}')
    settings = dict(WORLD_SETTINGS[world])
    settings.update({k: v for k, v in overrides.items() if v is not None})
    return settings


def seed_plan(index: Optional[int], world_seed: int = 0) -> Dict:
    """The separate seeds of one world.

    Args:
        index (int, optional): Seed index of an independent world: world
            seed ``i``, validation ``1000 + i``, pre-training ``2000 + i``
            (the tiny CLIP's and the SigLIP-style tower's alike: the same
            initial weights and batches, so the two towers differ in the
            loss only), GranZSL ``3000 + i`` (the same for its ablations:
            an ablation differs from the full model only in its
            component), MKT ``4000 + i``, SigRL ``5000 + i``, DualCoOp
            ``6000 + i``, Recover-and-Match ``7000 + i``, TaI-DPT
            ``8000 + i``. None: the single world of ``make demo``, every
            training seed the config's (None).
        world_seed (int): The single world's seed (with ``index`` None).

    Returns:
        dict: ``world``, ``val``, ``pretrain``, ``granzsl``, ``mkt``,
        ``sigrl``, ``dualcoop``, ``recover_match``, ``taidpt``.
    """
    if index is None:
        return dict(world=int(world_seed), val=None, pretrain=None,
                    granzsl=None, mkt=None, sigrl=None, dualcoop=None,
                    recover_match=None, taidpt=None)
    i = int(index)
    return dict(world=i, val=1000 + i, pretrain=2000 + i, granzsl=3000 + i,
                mkt=4000 + i, sigrl=5000 + i, dualcoop=6000 + i,
                recover_match=7000 + i, taidpt=8000 + i)


def _configs_dir(configs_dir: Optional[str]) -> str:
    if configs_dir:
        return configs_dir
    from granzsl_mm.apis.model_zoo import configs_root
    return configs_root()


def _config_text(path: str) -> str:
    return Config.fromfile(path).pretty_text


def _plain(settings: dict) -> dict:
    return {k: (list(v) if isinstance(v, tuple) else v)
            for k, v in settings.items()}


def _level_chance(targets, n_seen: int, meta: dict, protocol: dict,
                  level_names: Sequence[str]) -> Dict[str, Optional[float]]:
    """Expected AP (%) of random scores per level, unseen classes, ZSL (a
    class without positives counted as the protocol's ``empty_class`` says,
    as :func:`~granzsl_mm.proving_ground.stages.per_level_ap` counts it)."""
    zsl = targets[:, n_seen:]
    if protocol.get('drop_empty_images'):
        zsl = zsl[(zsl == 1).any(axis=1)]
    skip = protocol.get('empty_class', 'zero') == 'skip'
    by_level: Dict[int, List[float]] = {}
    for j, name in enumerate(meta['unseen_classes']):
        col = zsl[:, j]
        pos, valid = int((col == 1).sum()), int((col >= 0).sum())
        level = meta['class_levels'][meta['classes'].index(name)]
        vals = by_level.setdefault(level, [])
        if pos or not skip:
            vals.append(100.0 * (expected_random_ap(pos, valid) if pos
                                 else 0.0))
    return {level_names[k]: (float(sum(v) / len(v)) if v else None)
            for k, v in sorted(by_level.items())}


def _row(method: str, metrics: dict, levels: dict,
         selected: Optional[dict] = None, **extra) -> dict:
    row = dict(method=method, zsl_mAP=metrics['zsl/mAP'],
               gzsl_mAP=metrics['gzsl/mAP'], **extra, levels=levels)
    if selected is not None:
        row['selected'] = selected
    return row



def _trained_row(method: str, res: dict) -> dict:
    """The row of a method trained by ``train_and_test_image_model``: the
    table's protocol, and every image scored (``all_images``)."""
    own = res.get('own', res['table'])
    return _row(method, res['table'], res['levels']['table'],
                res.get('selected'),
                all_images=dict(zsl_mAP=own['zsl/mAP'],
                                gzsl_mAP=own['gzsl/mAP']))

def run_world(work_dir: str, data_root: str, configs_dir: str,
              settings: dict, seeds: dict, index: Optional[int] = None,
              ablations: bool = True, image_methods: bool = True,
              force_pretrain: bool = False, progress: bool = True,
              bar=None, overwrite: bool = False,
              caption_methods: bool = True,
              sigmoid_tower: bool = True) -> Dict:
    """The whole proving ground on one world (see the module doc).

    Args:
        work_dir (str): Output folder (results, stage cache, logs,
            checkpoints).
        data_root (str): Where the world is (or is built).
        configs_dir (str): The ``configs/`` folder.
        settings (dict): :func:`world_settings`.
        seeds (dict): :func:`seed_plan`.
        index (int, optional): Seed index (None: the single world).
        ablations (bool): Train and test the GranZSL ablations.
        image_methods (bool): Train and test the methods of
            :data:`IMAGE_METHODS`.
        force_pretrain (bool): Ignore the cached tiny CLIP and the cached
            stage results.
        progress (bool): Progress bars of the world and the stages.
        bar: A tqdm bar to advance per stage (optional).
        overwrite (bool): Replace a world in ``data_root`` built with other
            settings (refused otherwise).
        caption_methods (bool): Train and test the methods of
            :data:`CAPTION_METHODS` (TaI-DPT).
        sigmoid_tower (bool): Pre-train the SigLIP-style tower and test
            its sigmoid scores of the prompts.

    Returns:
        dict: The world's ``results.json`` content (``format``, ``info``,
        ``rows``).
    """
    from .world_io import build_synthetic_world
    spec = get_world(settings['world'])
    level_names = list(spec.levels)
    validate = settings['num_val'] > 0
    os.makedirs(work_dir, exist_ok=True)
    cache = StageCache(osp.join(work_dir, 'stages.json'),
                       fresh=force_pretrain)
    prefix = '' if index is None else f'seed {index}: '

    def step(name: str) -> None:
        if bar is not None:
            bar.set_postfix_str(prefix + name)

    def done() -> None:
        if bar is not None:
            bar.update()

    step('world')
    t0 = time.time()
    meta = build_synthetic_world(
        data_root, spec=spec, num_train=settings['num_train'],
        num_test=settings['num_test'], seed=seeds['world'],
        num_val=settings['num_val'], val_seed=seeds['val'],
        overwrite=overwrite, progress=progress)
    world_seconds = time.time() - t0
    done()
    step('pre-train tiny CLIP')
    t0 = time.time()
    ckpt = pretrain_tiny_clip(
        osp.join(configs_dir, 'pretrain_tiny_clip_demo.py'), data_root,
        osp.join(work_dir, 'pretrain'), max_iters=settings['pretrain_iters'],
        force=force_pretrain, seed=seeds['pretrain'])
    pretrain_seconds = time.time() - t0
    with open(osp.join(data_root, 'tiny_clip.json'), encoding='utf-8') as f:
        clip_key = json.load(f)['key']
    done()
    sigmoid_cfg = osp.join(configs_dir, SIGMOID_PRETRAIN_CONFIG)
    timings = dict(world=round(world_seconds, 2),
                   pretrain=round(pretrain_seconds, 2))
    if sigmoid_tower:
        step('pre-train SigLIP-style tower')
        t0 = time.time()
        # the tiny CLIP's seed: the same initial weights and batches
        sigmoid_ckpt = pretrain_tiny_clip(
            sigmoid_cfg, data_root, osp.join(work_dir, 'pretrain_siglip'),
            max_iters=settings['pretrain_iters'], force=force_pretrain,
            seed=seeds['pretrain'])
        timings['pretrain_siglip'] = round(time.time() - t0, 2)
        with open(osp.splitext(sigmoid_ckpt)[0] + '.json',
                  encoding='utf-8') as f:
            sigmoid_key = json.load(f)['key']
        done()

    main_cfg = osp.join(configs_dir, 'granzsl_demo.py')
    cfg = demo_config(main_cfg, data_root, ckpt, meta)
    targets = load_test_targets(cfg)
    n_seen = len(meta['seen_classes'])
    protocol = config_protocol(cfg)
    # MKT / SigRL score every test image in their papers; the table
    # compares every method under the GranZSL config's protocol, the
    # papers' is kept aside
    every = dict(protocol, drop_empty_images=False)
    chance = dict(zsl_mAP=chance_map(targets[:, n_seen:], **protocol),
                  gzsl_mAP=chance_map(targets, **protocol))
    chance_all = dict(zsl_mAP=chance_map(targets[:, n_seen:], **every),
                      gzsl_mAP=chance_map(targets, **every))
    base_key = [meta['build'], clip_key]

    def cached(name: str, settings_key, fn) -> dict:
        return cache.run(name, stage_key(base_key + [name, settings_key]), fn)

    rows = [dict(method=CHANCE, **chance)]
    step('CLIP zero-shot')
    for mode, method in (('global', 'CLIP zero-shot, prompts, global score'),
                         ('both', 'CLIP zero-shot, prompts, global + local '
                          'score')):
        sub = osp.join(work_dir, f'clip_{mode}')

        def clip_fn(mode=mode, sub=sub):
            metrics = clip_zero_shot(cfg, meta, sub, score_mode=mode)
            return dict(metrics=metrics,
                        levels=per_level_ap(osp.join(sub, 'reports'),
                                            level_names,
                                            empty_class=protocol[
                                                'empty_class']))
        res = cached(f'clip_{mode}', _config_text(main_cfg), clip_fn)
        rows.append(_row(method, res['metrics'], res['levels']))
    tagclip_cfg = osp.join(configs_dir, TAGCLIP_CONFIG)
    sub = osp.join(work_dir, 'clip_tagclip')

    def tagclip_fn(sub=sub):
        metrics = tagclip_zero_shot(cfg, meta, sub, tagclip_cfg)
        return dict(metrics=metrics,
                    levels=per_level_ap(osp.join(sub, 'reports'),
                                        level_names,
                                        empty_class=protocol['empty_class']))
    res = cached('clip_tagclip', [_config_text(main_cfg),
                                  _config_text(tagclip_cfg)], tagclip_fn)
    rows.append(_row(TAGCLIP, res['metrics'], res['levels']))
    done()
    if sigmoid_tower:
        step('SigLIP-style zero-shot')
        sigmoid_arch = Config.fromfile(sigmoid_cfg).model.arch
        for mode, method in (('global', SIGMOID_GLOBAL),
                             ('both', SIGMOID_BOTH)):
            sub = osp.join(work_dir, f'sigmoid_{mode}')

            def sigmoid_fn(mode=mode, sub=sub):
                metrics = sigmoid_zero_shot(cfg, meta, sub, sigmoid_ckpt,
                                            sigmoid_arch, score_mode=mode)
                return dict(metrics=metrics, levels=per_level_ap(
                    osp.join(sub, 'reports'), level_names,
                    empty_class=protocol['empty_class']))
            res = cached(f'sigmoid_{mode}',
                         [sigmoid_key, _config_text(main_cfg)], sigmoid_fn)
            rows.append(_row(method, res['metrics'], res['levels']))
        done()

    granzsl_runs = [('GranZSL', 'granzsl_demo.py')]
    if ablations:
        granzsl_runs += list(ABLATIONS.items())
    for method, fname in granzsl_runs:
        step(method)
        path = osp.join(configs_dir, fname)
        sub = osp.join(work_dir, osp.splitext(fname)[0])

        def granzsl_fn(path=path, sub=sub):
            return train_and_test_granzsl(
                path, data_root, ckpt, meta, sub, seed=seeds['granzsl'],
                max_epochs=settings['granzsl_epochs'], validate=validate,
                level_names=level_names)
        res = cached(fname, [_config_text(path), seeds['granzsl'],
                             settings['granzsl_epochs']], granzsl_fn)
        if method == 'GranZSL':
            rows.append(_row('GranZSL, no snippets', res['plain'],
                             res['levels']['plain'], res.get('selected')))
        rows.append(_row(method + ', snippets', res['snippets'],
                         res['levels']['snippets'], res.get('selected')))
        done()
    for method, (fname, tag) in (CAPTION_METHODS.items() if caption_methods
                                 else ()):
        step(method)
        path = osp.join(configs_dir, fname)
        sub = osp.join(work_dir, osp.splitext(fname)[0])

        def caption_fn(path=path, sub=sub, tag=tag):
            # the config's learning rate; the epoch chosen on the
            # validation images where the world has them
            return train_and_test_image_model(
                path, data_root, ckpt, meta, sub, protocol, seed=seeds[tag],
                validate=validate, level_names=level_names)
        res = cached(fname, [_config_text(path), seeds[tag], protocol],
                     caption_fn)
        rows.append(_trained_row(method, res))
        done()
    if image_methods:
        for method, (fname, tag) in IMAGE_METHODS.items():
            step(method)
            grid = settings[f'{tag}_lrs']
            grid = None if grid is None else list(grid)
            path = osp.join(configs_dir, fname)
            sub = osp.join(work_dir, osp.splitext(fname)[0])

            def image_fn(path=path, sub=sub, tag=tag, grid=grid):
                return train_and_test_image_model(
                    path, data_root, ckpt, meta, sub, protocol,
                    seed=seeds[tag], lrs=grid,
                    max_epochs=settings['image_epochs'], validate=validate,
                    level_names=level_names)
            res = cached(fname, [_config_text(path), seeds[tag], grid,
                                 settings['image_epochs'], protocol],
                         image_fn)
            rows.append(_trained_row(method, res))
            done()
    step('results')
    timings.update(cache.seconds())
    levels_count = {}
    for name in meta['unseen_classes']:
        lvl = level_names[meta['class_levels'][meta['classes'].index(name)]]
        levels_count[lvl] = levels_count.get(lvl, 0) + 1
    info = dict(index=index, seeds=seeds, world=meta['build'],
                world_name=settings['world'], levels=level_names,
                settings=_plain(settings),
                num_classes=len(meta['classes']), num_seen=n_seen,
                num_unseen=len(meta['unseen_classes']),
                unseen_classes=meta['unseen_classes'],
                unseen_per_level=levels_count,
                num_test=int(targets.shape[0]),
                num_val=settings['num_val'], protocol=protocol,
                all_images_protocol=dict(every, chance=chance_all),
                level_chance=_level_chance(targets, n_seen, meta, protocol,
                                           level_names),
                checkpoint=ckpt, timings=timings)
    if sigmoid_tower:
        info['sigmoid_checkpoint'] = sigmoid_ckpt
    out = dict(format=RESULTS_FORMAT, info=info, rows=rows)
    write_results(work_dir, out)
    done()
    return out


def run_proving_ground(work_dir: str = 'work_dirs/demo',
                       data_root: str = 'data/demo',
                       world: str = 'v1',
                       seeds: Optional[int] = None,
                       first_seed: int = 0,
                       configs_dir: Optional[str] = None,
                       ablations: bool = True,
                       image_methods: bool = True,
                       force_pretrain: bool = False,
                       overwrite: bool = False,
                       num_threads: Optional[int] = None,
                       progress: bool = True,
                       caption_methods: bool = True,
                       sigmoid_tower: bool = True,
                       **overrides) -> Dict:
    """The proving ground on one world or on several (see the module doc).

    Args:
        work_dir (str): Output folder (with ``seeds``: ``seed_<i>/`` per
            world and the ``evidence.*`` files at the top).
        data_root (str): Where the world is built (with ``seeds``:
            ``<data_root>/seed_<i>``).
        world (str): ``'v1'`` (the first world, ``make demo``) or ``'v2'``
            (the evidence world with a validation split, ``make
            evidence``).
        seeds (int, optional): None: one world in ``work_dir`` /
            ``data_root`` themselves, world seed ``first_seed``, the
            configs' training seeds. N: N independent worlds, seed indices
            ``first_seed .. first_seed + N - 1`` (:func:`seed_plan`), and
            the evidence report over them.
        first_seed (int): The single world's seed, or the first index.
        configs_dir (str, optional): The ``configs/`` folder.
        ablations (bool): GranZSL ablations.
        image_methods (bool): The methods of :data:`IMAGE_METHODS`.
        force_pretrain (bool): Ignore the cached tiny CLIPs and stage
            results.
        overwrite (bool): Replace worlds in ``data_root`` built with other
            settings (refused otherwise).
        num_threads (int, optional): ``torch.set_num_threads`` for the run
            (1 is much faster on a machine shared with other jobs: idle
            threads of a busy machine spin instead of working).
        progress (bool): Progress bars.
        caption_methods (bool): The methods of :data:`CAPTION_METHODS`.
        sigmoid_tower (bool): The SigLIP-style tower and its rows.
        **overrides: Keys of :data:`WORLD_SETTINGS` (``None`` keeps the
            world's).

    Returns:
        dict: The world's ``results.json`` content (``seeds`` None) or
        ``evidence.json``'s.
    """
    import torch
    from tqdm import tqdm

    import granzsl_mm
    if seeds is not None and seeds < 1:
        raise ValueError(f'seeds must be >= 1, got {seeds}')
    settings = world_settings(world, **overrides)
    if num_threads:
        torch.set_num_threads(int(num_threads))
    granzsl_mm.register_all_modules()
    cdir = _configs_dir(configs_dir)
    if seeds is None:
        worlds = [(None, work_dir, data_root)]
    else:
        worlds = [(i, osp.join(work_dir, f'seed_{i}'),
                   osp.join(data_root, f'seed_{i}'))
                  for i in range(first_seed, first_seed + seeds)]
    # world, pre-training, CLIP (prompts, TagCLIP), GranZSL, ..., results;
    # the SigLIP-style tower: its pre-training and its rows
    per_world = 4 + (len(ABLATIONS) if ablations else 0) + (
        len(IMAGE_METHODS) if image_methods else 0) + (
        len(CAPTION_METHODS) if caption_methods else 0) + (
        2 if sigmoid_tower else 0) + 1
    bar = tqdm(total=len(worlds) * per_world,
               desc='demo' if seeds is None else 'evidence',
               disable=not progress,
               bar_format='{l_bar}{bar}| {n_fmt}/{total_fmt} [{elapsed}]')
    results = []
    t0 = time.time()
    for index, wdir, droot in worlds:
        results.append(run_world(
            wdir, droot, cdir, settings, seed_plan(index, first_seed),
            index=index, ablations=ablations, image_methods=image_methods,
            force_pretrain=force_pretrain, progress=progress, bar=bar,
            overwrite=overwrite, caption_methods=caption_methods,
            sigmoid_tower=sigmoid_tower))
    bar.close()
    if seeds is None:
        return results[0]
    run = dict(settings=_plain(settings), threads=torch.get_num_threads(),
               wall_seconds_this_call=round(time.time() - t0, 1))
    return write_evidence(work_dir, results, run)['evidence']
