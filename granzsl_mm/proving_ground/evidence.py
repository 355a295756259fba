"""The proving ground over several independent worlds (``make evidence``).

:func:`run_evidence` runs, for each seed index ``i``:

1. a world (``'v2'`` by default: 76 classes on five granularity levels,
   30 unseen on three of them) with a validation split, world seed ``i``,
   validation seed ``1000 + i``;
2. the tiny CLIP's pre-training, seed ``2000 + i``;
3. the CLIP prompt baselines (nothing to choose);
4. GranZSL and its ablations, seed ``3000 + i`` (the same for all of them:
   an ablation differs from the full model only in its component), the
   epoch chosen on the validation images;
5. MKT (seed ``4000 + i``) and SigRL (seed ``5000 + i``), the learning rate
   of a stated grid and the epoch chosen on the validation images
   (:mod:`.selection`);

and writes ``seed_<i>/results.json``. Each stage's result is cached in
``seed_<i>/stages.json`` under a key of the world, the tiny CLIP and the
stage's settings, so an interrupted run resumes where it stopped and a
finished one is only re-aggregated. :mod:`.evidence_report` then writes
``evidence.md`` / ``evidence.json`` / ``evidence.png``: mean +- sd and 95 %
t-intervals over seeds, paired differences of each ablation to full
GranZSL, chance per seed, per-level AP of the unseen classes.
"""
import copy
import hashlib
import json
import os
import os.path as osp
import time
from typing import Dict, List, Optional, Sequence

from mmengine.config import Config

from granzsl_mm.datasets.descriptions.io import atomic_write_json
from granzsl_mm.evaluation.functional.chance import chance_map, expected_random_ap

from .evidence_report import write_evidence
from .pipeline import ABLATIONS, IMAGE_METHODS, pretrain_tiny_clip
from .selection import granzsl_with_selection, image_model_with_selection, per_level_ap
from .stages import clip_zero_shot, demo_config, load_test_targets
from .world import get_world

__all__ = ['EVIDENCE_DEFAULTS', 'seed_plan', 'run_seed', 'run_evidence',
           'report_evidence', 'StageCache']

# Settings of the evidence world and its choices (the grids are stated in
# docs/demo.md; the MKT / SigRL ones span the papers' rates and the ones
# the first demo used). 2000 training images and 200 pre-training
# iterations (the config's 300 with the first world's 4000) keep 5 worlds
# near 20 CPU minutes on 2 cores.
EVIDENCE_DEFAULTS = dict(
    world='v2', num_train=2000, num_test=600, num_val=300,
    pretrain_iters=200, granzsl_epochs=None, image_epochs=None,
    mkt_lrs=(1e-3, 5e-3, 2e-2), sigrl_lrs=(1e-4, 2e-3, 2e-2))
RESULTS_FORMAT = 'granzsl_mm.proving_ground.seed_results/v1'


def seed_plan(index: int) -> Dict[str, int]:
    """The separate seeds of seed index ``index`` (see the module doc)."""
    i = int(index)
    return dict(world=i, val=1000 + i, pretrain=2000 + i, granzsl=3000 + i,
                mkt=4000 + i, sigrl=5000 + i)


def _hash(obj) -> str:
    return hashlib.sha1(json.dumps(obj, sort_keys=True,
                                   default=str).encode()).hexdigest()[:16]


class StageCache:
    """Stage results of one seed, kept in a JSON file (resumable runs).

    Args:
        path (str): The JSON file (created on the first :meth:`put`).
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self.data = {}
        if osp.isfile(path):
            with open(path, encoding='utf-8') as f:
                self.data = json.load(f)

    def get(self, name: str, key: str) -> Optional[dict]:
        """The cached result of ``name`` when its key matches, else None."""
        entry = self.data.get(name)
        if entry and entry.get('key') == key:
            return entry['result']
        return None

    def put(self, name: str, key: str, result: dict, seconds: float) -> None:
        """Store a stage's result (written at once)."""
        self.data[name] = dict(key=key, result=result,
                               seconds=round(float(seconds), 2))
        atomic_write_json(self.data, self.path)

    def seconds(self) -> Dict[str, float]:
        return {k: v.get('seconds', 0.0) for k, v in self.data.items()}


def _config_text(path: str) -> str:
    return Config.fromfile(path).pretty_text


def _level_chance(targets, n_seen: int, meta: dict, protocol: dict,
                  level_names: Sequence[str]) -> Dict[str, float]:
    """Expected AP (%) of random scores per level, unseen classes, ZSL."""
    zsl = targets[:, n_seen:]
    if protocol.get('drop_empty_images'):
        zsl = zsl[(zsl == 1).any(axis=1)]
    by_level: Dict[int, List[float]] = {}
    for j, name in enumerate(meta['unseen_classes']):
        col = zsl[:, j]
        pos, valid = int((col == 1).sum()), int((col >= 0).sum())
        level = meta['class_levels'][meta['classes'].index(name)]
        ap = expected_random_ap(pos, valid) if pos else 0.0
        by_level.setdefault(level, []).append(100.0 * ap)
    return {level_names[k]: float(sum(v) / len(v))
            for k, v in sorted(by_level.items())}


def run_seed(index: int, work_dir: str, data_root: str,
             configs_dir: str, settings: dict,
             ablations: bool = True, image_methods: bool = True,
             progress: bool = True, bar=None) -> Dict:
    """The whole proving ground on one world (see the module doc).

    Args:
        index (int): Seed index (:func:`seed_plan`).
        work_dir (str): This seed's work dir (``.../seed_<index>``).
        data_root (str): This seed's world folder.
        configs_dir (str): The ``configs/`` folder.
        settings (dict): :data:`EVIDENCE_DEFAULTS` with overrides.
        ablations (bool): Train and test the GranZSL ablations.
        image_methods (bool): Train and test MKT and SigRL.
        progress (bool): Progress bars of the world and the stages.
        bar: A tqdm bar to advance per stage (optional).

    Returns:
        dict: The seed's ``results.json`` content.
    """
    seeds = seed_plan(index)
    spec = get_world(settings['world'])
    level_names = list(spec.levels)
    os.makedirs(work_dir, exist_ok=True)
    cache = StageCache(osp.join(work_dir, 'stages.json'))

    def step(name: str) -> None:
        if bar is not None:
            bar.set_postfix_str(f'seed {index}: {name}')

    def done() -> None:
        if bar is not None:
            bar.update()

    from .world_io import build_synthetic_world
    step('world')
    t0 = time.time()
    meta = build_synthetic_world(
        data_root, spec=spec, num_train=settings['num_train'],
        num_test=settings['num_test'], seed=seeds['world'],
        num_val=settings['num_val'], val_seed=seeds['val'],
        progress=progress)
    world_seconds = time.time() - t0
    done()
    step('pre-train tiny CLIP')
    t0 = time.time()
    pre_cfg = osp.join(configs_dir, 'pretrain_tiny_clip_demo.py')
    ckpt = pretrain_tiny_clip(pre_cfg, data_root, osp.join(work_dir,
                                                           'pretrain'),
                              max_iters=settings['pretrain_iters'],
                              seed=seeds['pretrain'])
    pretrain_seconds = time.time() - t0
    with open(osp.join(data_root, 'tiny_clip.json'), encoding='utf-8') as f:
        clip_key = json.load(f)['key']
    done()

    main_cfg = osp.join(configs_dir, 'granzsl_demo.py')
    cfg = demo_config(main_cfg, data_root, ckpt, meta)
    targets = load_test_targets(cfg)
    n_seen = len(meta['seen_classes'])
    evaluator = cfg.test_evaluator
    protocol = dict(empty_class=evaluator.get('empty_class', 'zero'),
                    drop_empty_images=evaluator.get('drop_empty_images',
                                                    False))
    every = dict(protocol, drop_empty_images=False)
    chance = dict(zsl_mAP=chance_map(targets[:, n_seen:], **protocol),
                  gzsl_mAP=chance_map(targets, **protocol))
    chance_all = dict(zsl_mAP=chance_map(targets[:, n_seen:], **every),
                      gzsl_mAP=chance_map(targets, **every))
    base_key = [meta['build'], clip_key]

    def cached(name: str, settings_key, fn):
        key = _hash(base_key + [name, settings_key])
        hit = cache.get(name, key)
        if hit is not None:
            return hit
        t = time.time()
        result = fn()
        cache.put(name, key, result, time.time() - t)
        return result

    rows = [dict(method='chance (random scores, expected)', **chance)]
    step('CLIP zero-shot')
    for mode, method in (('global', 'CLIP zero-shot, prompts, global score'),
                         ('both', 'CLIP zero-shot, prompts, global + local '
                          'score')):
        sub = osp.join(work_dir, f'clip_{mode}')

        def clip_fn(mode=mode, sub=sub):
            metrics = clip_zero_shot(copy.deepcopy(cfg), meta, sub,
                                     score_mode=mode)
            return dict(metrics=metrics,
                        levels=per_level_ap(osp.join(sub, 'reports'),
                                            level_names))
        res = cached(f'clip_{mode}', _config_text(main_cfg), clip_fn)
        rows.append(dict(method=method, zsl_mAP=res['metrics']['zsl/mAP'],
                         gzsl_mAP=res['metrics']['gzsl/mAP'],
                         levels=res['levels']))
    done()

    granzsl_runs = [('GranZSL', 'granzsl_demo.py')]
    if ablations:
        granzsl_runs += list(ABLATIONS.items())
    for method, fname in granzsl_runs:
        step(method)
        path = osp.join(configs_dir, fname)
        sub = osp.join(work_dir, osp.splitext(fname)[0])

        def granzsl_fn(path=path, sub=sub):
            return granzsl_with_selection(
                path, data_root, ckpt, meta, sub, seeds['granzsl'],
                max_epochs=settings['granzsl_epochs'],
                level_names=level_names)
        res = cached(fname, [_config_text(path), seeds['granzsl'],
                             settings['granzsl_epochs']], granzsl_fn)
        if method == 'GranZSL':
            rows.append(dict(method='GranZSL, no snippets',
                             zsl_mAP=res['plain']['zsl/mAP'],
                             gzsl_mAP=res['plain']['gzsl/mAP'],
                             levels=res['levels']['plain'],
                             selected=res['selected']))
        rows.append(dict(method=method + ', snippets',
                         zsl_mAP=res['snippets']['zsl/mAP'],
                         gzsl_mAP=res['snippets']['gzsl/mAP'],
                         levels=res['levels']['snippets'],
                         selected=res['selected']))
        done()
    if image_methods:
        grids = dict(mkt=settings['mkt_lrs'], sigrl=settings['sigrl_lrs'])
        for method, fname in IMAGE_METHODS.items():
            step(method)
            tag = 'mkt' if fname.startswith('mkt') else 'sigrl'
            path = osp.join(configs_dir, fname)
            sub = osp.join(work_dir, osp.splitext(fname)[0])

            def image_fn(path=path, sub=sub, tag=tag):
                return image_model_with_selection(
                    path, data_root, ckpt, meta, sub, protocol, seeds[tag],
                    list(grids[tag]), max_epochs=settings['image_epochs'],
                    level_names=level_names)
            res = cached(fname, [_config_text(path), seeds[tag],
                                 list(grids[tag]), settings['image_epochs'],
                                 protocol], image_fn)
            own = res.get('own', res['table'])
            rows.append(dict(method=method,
                             zsl_mAP=res['table']['zsl/mAP'],
                             gzsl_mAP=res['table']['gzsl/mAP'],
                             all_images=dict(zsl_mAP=own['zsl/mAP'],
                                             gzsl_mAP=own['gzsl/mAP']),
                             levels=res['levels']['table'],
                             selected=res['selected']))
            done()
    timings = dict(world=round(world_seconds, 2),
                   pretrain=round(pretrain_seconds, 2), **cache.seconds())
    levels_count = {}
    for name in meta['unseen_classes']:
        lvl = level_names[meta['class_levels'][meta['classes'].index(name)]]
        levels_count[lvl] = levels_count.get(lvl, 0) + 1
    info = dict(index=int(index), seeds=seeds, world=meta['build'],
                world_name=settings['world'], levels=level_names,
                settings={k: (list(v) if isinstance(v, tuple) else v)
                          for k, v in settings.items()},
                num_classes=len(meta['classes']), num_seen=n_seen,
                num_unseen=len(meta['unseen_classes']),
                unseen_per_level=levels_count,
                num_test=int(targets.shape[0]),
                num_val=settings['num_val'], protocol=protocol,
                all_images_chance=chance_all,
                level_chance=_level_chance(targets, n_seen, meta, protocol,
                                           level_names),
                checkpoint=ckpt, timings=timings)
    out = dict(format=RESULTS_FORMAT, info=info, rows=rows)
    atomic_write_json(out, osp.join(work_dir, 'results.json'))
    return out


def run_evidence(work_dir: str = 'work_dirs/evidence',
                 data_root: str = 'data/evidence',
                 seeds: int = 5, first_seed: int = 0,
                 configs_dir: Optional[str] = None,
                 ablations: bool = True, image_methods: bool = True,
                 num_threads: Optional[int] = None, progress: bool = True,
                 **overrides) -> Dict:
    """The proving ground over ``seeds`` independent worlds, aggregated.

    Args:
        work_dir (str): Output folder (``seed_<i>/`` per seed, the
            ``evidence.*`` files at the top).
        data_root (str): Worlds go to ``<data_root>/seed_<i>``.
        seeds (int): Number of worlds.
        first_seed (int): Index of the first (indices ``first_seed ..
            first_seed + seeds - 1``).
        configs_dir (str, optional): The ``configs/`` folder.
        ablations (bool): GranZSL ablations.
        image_methods (bool): MKT and SigRL.
        num_threads (int, optional): ``torch.set_num_threads``.
        progress (bool): Progress bars.
        **overrides: Keys of :data:`EVIDENCE_DEFAULTS` (``None`` keeps the
            default).

    Returns:
        dict: ``evidence.json``'s content.
    """
    import torch
    from tqdm import tqdm

    import granzsl_mm

    from .pipeline import _configs_dir
    if seeds < 1:
        raise ValueError(f'seeds must be >= 1, got {seeds}')
    unknown = set(overrides) - set(EVIDENCE_DEFAULTS)
    if unknown:
        raise TypeError(f'unknown settings {sorted(unknown)}')
    settings = dict(EVIDENCE_DEFAULTS)
    settings.update({k: v for k, v in overrides.items() if v is not None})
    get_world(settings['world'])  # fail early on a bad name
    if num_threads:
        torch.set_num_threads(int(num_threads))
    granzsl_mm.register_all_modules()
    cdir = _configs_dir(configs_dir)
    per_seed_stages = 3 + (len(ABLATIONS) if ablations else 0) + (
        len(IMAGE_METHODS) if image_methods else 0) + 1
    bar = tqdm(total=seeds * per_seed_stages, desc='evidence',
               disable=not progress,
               bar_format='{l_bar}{bar}| {n_fmt}/{total_fmt} [{elapsed}]')
    results = []
    t0 = time.time()
    for index in range(first_seed, first_seed + seeds):
        results.append(run_seed(
            index, osp.join(work_dir, f'seed_{index}'),
            osp.join(data_root, f'seed_{index}'), cdir, settings,
            ablations=ablations, image_methods=image_methods,
            progress=False, bar=bar))
    bar.close()
    run = dict(settings={k: (list(v) if isinstance(v, tuple) else v)
                         for k, v in settings.items()},
               threads=torch.get_num_threads(),
               wall_seconds_this_call=round(time.time() - t0, 1))
    written = write_evidence(work_dir, results, run)
    if progress:
        print(written['text'])
    return written['evidence']


def report_evidence(work_dir: str, seeds: int, first_seed: int = 0,
                    progress: bool = True) -> Dict:
    """Aggregate finished seeds (``seed_<i>/results.json``) without running
    anything (e.g. seeds run by separate processes).

    Args:
        work_dir (str): The evidence work dir.
        seeds (int): Number of seeds.
        first_seed (int): Index of the first.
        progress (bool): Print the report.

    Returns:
        dict: ``evidence.json``'s content.
    """
    results, missing = [], []
    for index in range(first_seed, first_seed + seeds):
        path = osp.join(work_dir, f'seed_{index}', 'results.json')
        if not osp.isfile(path):
            missing.append(path)
            continue
        with open(path, encoding='utf-8') as f:
            results.append(json.load(f))
    if missing:
        raise FileNotFoundError(f'seeds not finished: {missing}')
    timings = [r['info'].get('timings', {}) for r in results]
    run = dict(report_only=True, seconds_per_seed=[
        round(sum(float(v) for v in t.values()), 1) for t in timings])
    written = write_evidence(work_dir, results, run)
    if progress:
        print(written['text'])
    return written['evidence']
