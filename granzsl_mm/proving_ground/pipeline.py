"""The proving ground: synthetic world -> tiny CLIP -> zero-shot -> GranZSL.

:func:`run_world_demo` is what ``tools/run_demo.py`` (``make demo``) runs:

1. draw the synthetic world (:mod:`granzsl_mm.proving_ground.world`)
   into ``data_root`` in the COCO-ZSL formats (reused when already built);
2. pre-train the tiny open_clip model on the world's image-caption pairs
   (``configs/pretrain_tiny_clip_demo.py``; the checkpoint is cached in
   ``data_root`` and reused while the world and the config are unchanged);
3. score the test images with the CLIP prompt baseline
   (``ZeroShotMultiLabelClassifier``, the class names in the demo templates);
4. train GranZSL's class names on the world's descriptions (text only) and
   its ablations, test each with and without snippets;
5. fine-tune MKT and SigRL (the last vision block of the tiny CLIP, on the
   world's seen labels) and test them under the table's protocol;
6. write ``results.json``, ``results.md`` and ``results.png`` (plus each
   method's per-class AP reports) into the work dir, with the chance mAP of
   random scores under the same protocol
   (:mod:`granzsl_mm.evaluation.functional.chance`).
"""
import hashlib
import json
import os.path as osp
from typing import Dict, Optional

from mmengine.config import Config

from granzsl_mm.evaluation.functional.chance import chance_map

from .report import write_results
from .stages import (
    DEMO_TEMPLATES,
    clip_zero_shot,
    demo_config,
    image_model_config,
    load_test_targets,
    quiet_stage,
    train_and_test_granzsl,
    train_and_test_image_model,
)

__all__ = ['run_world_demo', 'pretrain_tiny_clip', 'demo_config',
           'load_test_targets', 'clip_zero_shot', 'train_and_test_granzsl',
           'image_model_config', 'train_and_test_image_model',
           'write_results', 'DEMO_TEMPLATES', 'ABLATIONS', 'IMAGE_METHODS']

ABLATIONS = {
    'GranZSL, no pair loss': 'granzsl_demo_no_pair.py',
    'GranZSL, no hierarchy sentences': 'granzsl_demo_no_hierarchy.py',
}
# Methods that fine-tune the image tower on the seen labels.
IMAGE_METHODS = {'MKT (stage 1)': 'mkt_demo.py', 'SigRL': 'sigrl_demo.py'}


def _configs_dir(configs_dir: Optional[str]) -> str:
    if configs_dir:
        return configs_dir
    from granzsl_mm.apis.model_zoo import configs_root
    return configs_root()


def pretrain_tiny_clip(config: str, data_root: str, work_dir: str,
                       max_iters: Optional[int] = None,
                       force: bool = False,
                       seed: Optional[int] = None) -> str:
    """Pre-train the tiny CLIP (or reuse the cached checkpoint).

    The checkpoint ``<data_root>/tiny_clip.pt`` is reused when its sidecar
    ``tiny_clip.json`` records the same world build and config.

    Args:
        config (str): Pre-training config (``pretrain_tiny_clip_demo.py``).
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
    cfg.merge_from_dict({'train_dataloader.dataset.data_root': data_root})
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
    out = osp.join(data_root, 'tiny_clip.pt')
    key = hashlib.sha1(json.dumps(
        [meta['build'], cfg.pretty_text], sort_keys=True).encode()).hexdigest()
    sidecar = osp.join(data_root, 'tiny_clip.json')
    if not force and osp.isfile(out) and osp.isfile(sidecar):
        with open(sidecar, encoding='utf-8') as f:
            if json.load(f).get('key') == key:
                return out
    for hook in cfg.custom_hooks:
        if str(hook.get('type', '')).endswith('ExportOpenCLIPHook'):
            hook['out_file'] = out
    prepare_train_cfg(cfg, config, work_dir=work_dir)
    quiet_stage(cfg, work_dir, 'pretrain_tiny_clip')
    cfg.default_hooks.logger.interval = max(
        1, min(cfg.default_hooks.logger.interval, cfg.train_cfg.max_iters))
    build_runner(cfg).train()
    with open(sidecar, 'w', encoding='utf-8') as f:
        json.dump(dict(key=key, config=osp.basename(config)), f)
    return out


def _row(method: str, metrics: dict) -> dict:
    return dict(method=method, zsl_mAP=metrics['zsl/mAP'],
                gzsl_mAP=metrics['gzsl/mAP'])


def run_world_demo(work_dir: str = 'work_dirs/demo',
                   data_root: str = 'data/demo',
                   configs_dir: Optional[str] = None,
                   num_train: int = 4000,
                   num_test: int = 600,
                   seed: int = 0,
                   pretrain_iters: Optional[int] = None,
                   granzsl_epochs: Optional[int] = None,
                   ablations: bool = True,
                   image_methods: bool = True,
                   image_epochs: Optional[int] = None,
                   force_pretrain: bool = False,
                   num_threads: Optional[int] = None,
                   progress: bool = True) -> Dict:
    """Run the whole proving ground (see the module doc).

    Args:
        work_dir (str): Output folder (results, logs, checkpoints).
        data_root (str): Where the world is (or is built).
        configs_dir (str, optional): The ``configs/`` folder.
        num_train (int): Pre-training images of the world.
        num_test (int): Test images.
        seed (int): World seed.
        pretrain_iters (int, optional): Override pre-training iterations.
        granzsl_epochs (int, optional): Override GranZSL epochs.
        ablations (bool): Also train and test the ablation configs.
        image_methods (bool): Also train and test MKT and SigRL (tested
            under the table's protocol; their own, every image scored, is
            kept in ``results.json``).
        image_epochs (int, optional): Override MKT's and SigRL's epochs.
        force_pretrain (bool): Ignore the cached tiny CLIP.
        num_threads (int, optional): ``torch.set_num_threads`` for the run
            (1 is much faster on a machine shared with other jobs: idle
            threads of a busy machine spin instead of working).
        progress (bool): Progress bars.

    Returns:
        dict: ``info`` and result ``rows`` (as written to results.json).
    """
    import torch
    from tqdm import tqdm

    import granzsl_mm
    if num_threads:
        torch.set_num_threads(int(num_threads))
    from .world_io import build_synthetic_world
    granzsl_mm.register_all_modules()
    cdir = _configs_dir(configs_dir)
    stages = ['world', 'pre-train tiny CLIP', 'CLIP zero-shot', 'GranZSL'] + (
        list(ABLATIONS) if ablations else []) + (
        list(IMAGE_METHODS) if image_methods else []) + ['results']
    bar = tqdm(total=len(stages), desc='demo', disable=not progress,
               bar_format='{l_bar}{bar}| {n_fmt}/{total_fmt} [{elapsed}]')

    def stage(name):
        bar.set_postfix_str(name)

    stage('world')
    meta = build_synthetic_world(data_root, num_train=num_train,
                                 num_test=num_test, seed=seed,
                                 progress=progress)
    bar.update()
    stage('pre-train tiny CLIP')
    ckpt = pretrain_tiny_clip(osp.join(cdir, 'pretrain_tiny_clip_demo.py'),
                              data_root, osp.join(work_dir, 'pretrain'),
                              max_iters=pretrain_iters, force=force_pretrain)
    bar.update()
    main_cfg = osp.join(cdir, 'granzsl_demo.py')
    cfg = demo_config(main_cfg, data_root, ckpt, meta)
    targets = load_test_targets(cfg)
    n_seen = len(meta['seen_classes'])
    evaluator = cfg.test_evaluator
    protocol = dict(empty_class=evaluator.get('empty_class', 'zero'),
                    drop_empty_images=evaluator.get('drop_empty_images',
                                                    False))
    rows = [dict(method='chance (random scores, expected)',
                 zsl_mAP=chance_map(targets[:, n_seen:], **protocol),
                 gzsl_mAP=chance_map(targets, **protocol))]
    stage('CLIP zero-shot')
    rows.append(_row('CLIP zero-shot, prompts, global score',
                     clip_zero_shot(cfg, meta, osp.join(work_dir, 'clip'))))
    rows.append(_row('CLIP zero-shot, prompts, global + local score',
                     clip_zero_shot(cfg, meta,
                                    osp.join(work_dir, 'clip_local'),
                                    score_mode='both')))
    bar.update()
    stage('GranZSL')
    res = train_and_test_granzsl(main_cfg, data_root, ckpt, meta,
                                 osp.join(work_dir, 'granzsl'),
                                 max_epochs=granzsl_epochs)
    rows.append(_row('GranZSL, no snippets', res['plain']))
    rows.append(_row('GranZSL, snippets', res['snippets']))
    bar.update()
    if ablations:
        for method, fname in ABLATIONS.items():
            stage(method)
            res = train_and_test_granzsl(
                osp.join(cdir, fname), data_root, ckpt, meta,
                osp.join(work_dir, osp.splitext(fname)[0]),
                max_epochs=granzsl_epochs)
            rows.append(_row(method + ', snippets', res['snippets']))
            bar.update()
    all_images = None
    if image_methods:
        # MKT / SigRL score every test image in their papers; the table
        # compares them under its own protocol, the other is kept aside.
        every = dict(protocol, drop_empty_images=False)
        all_images = dict(every, chance=dict(
            zsl_mAP=chance_map(targets[:, n_seen:], **every),
            gzsl_mAP=chance_map(targets, **every)))
        for method, fname in IMAGE_METHODS.items():
            stage(method)
            res = train_and_test_image_model(
                osp.join(cdir, fname), data_root, ckpt, meta,
                osp.join(work_dir, osp.splitext(fname)[0]), protocol,
                max_epochs=image_epochs)
            row = _row(method, res['table'])
            own = res.get('own', res['table'])
            row['all_images'] = dict(zsl_mAP=own['zsl/mAP'],
                                     gzsl_mAP=own['gzsl/mAP'])
            rows.append(row)
            bar.update()
    stage('results')
    info = dict(num_classes=len(meta['classes']), num_seen=n_seen,
                num_unseen=len(meta['unseen_classes']),
                num_test=int(targets.shape[0]),
                unseen_classes=meta['unseen_classes'], world=meta['build'],
                checkpoint=ckpt, protocol=protocol)
    if all_images is not None:
        info['all_images_protocol'] = all_images
    written = write_results(work_dir, rows, info)
    bar.update()
    bar.close()
    if progress:
        print(written['header'] + '\n\n' + written['table'])
    return dict(info=info, rows=rows)
