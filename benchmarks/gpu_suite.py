"""GPU suite: test throughput, text-training time, evaluation time, models.

Four figures of one machine, each from the project's real code path and
random weights (nothing is downloaded):

1. **COCO GZSL test throughput** (images/s, JPEG decoding included):
   synthetic JPEGs are written to disk with a COCO instances json and the
   48/17 split, read by ``COCOZSLDataset`` through the test pipeline and
   dataloader of ``configs/granzsl_coco.py``, scored by ``GranZSL`` (1 view,
   ``test_step``) and by ``SnippetTTAModel`` (1 + 13 snippets), in fp32 and
   under bf16 autocast, each fed to ``ZSLMultiLabelMetric``;
2. **GranZSL 30-epoch COCO text training**: a description file of the 48
   seen classes is generated (``--sentences`` items with the 80 templates)
   and ``configs/granzsl_coco.py`` is trained by mmengine's ``Runner`` (the
   real loop: ``ClassDescriptionDataset``, cached sentence embeddings,
   SGD + schedule; AMP on a GPU, as ``tools/train.py --amp``), wall time of
   ``runner.train()``;
3. **NUS-WIDE-size evaluation**: ``ZSLMultiLabelMetric`` on 107,859 x 1006
   scores (925 seen + 81 unseen, labels all known), ``process`` +
   ``evaluate``;
4. **every model of** ``configs/metafile.yml``: ``test_step`` images/s on
   random images of its config's test size (random towers; a model whose
   class-name file is a dataset's own file is listed as not run, with the
   file named).

``--small`` runs the same code on a tiny random CLIP, a few images and a few
sentences (CPU, seconds). The figures are printed and written as json
(``--json``).

    bash benchmarks/gpu_suite.sh            # the full suite (<= 5 min, GPU)
    python benchmarks/gpu_suite.py --small  # CPU smoke run
"""
import argparse
import json
import os
import os.path as osp
import platform
import shutil
import sys
import tempfile
import time

import numpy as np
import torch

REPO = osp.abspath(osp.join(osp.dirname(__file__), '..'))
CONFIG = osp.join(REPO, 'configs', 'granzsl_coco.py')
TINY = osp.join(REPO, 'granzsl_mm', 'models', 'backbones', 'model_configs',
                'TinyCLIP-test.json')

# items: training items (sentences + templates) of the 65 COCO ZSL classes
FULL = dict(arch='ViT-B-16', image_size=224, images=1024, jpeg=(640, 480),
            batch=64, workers=8, items=15000, templates='openai_imagenet_80',
            epochs=30, text_batch=512, eval_rows=107859, eval_seen=925,
            eval_unseen=81, model_reps=5)
SMALL = dict(arch='TinyCLIP-test', image_size=32, images=8, jpeg=(48, 40),
             batch=4, workers=0, items=195, templates=['a photo of a {}.'],
             epochs=2, text_batch=64, eval_rows=2000, eval_seen=60,
             eval_unseen=8, model_reps=1)


def write_coco_data(root: str, num_images: int, jpeg_size: tuple,
                    seed: int = 0) -> None:
    """Random JPEGs, an instances json over the 65 ZSL classes, the split."""
    from PIL import Image

    from granzsl_mm.structures import (
        COCO80_CLASSES,
        COCO_SEEN_48,
        COCO_UNSEEN_17,
    )
    rng = np.random.default_rng(seed)
    os.makedirs(osp.join(root, 'images'), exist_ok=True)
    os.makedirs(osp.join(root, 'annotations'), exist_ok=True)
    names = list(COCO_SEEN_48) + list(COCO_UNSEEN_17)
    cat_id = {n: i + 1 for i, n in enumerate(COCO80_CLASSES)}
    images, anns = [], []
    w, h = jpeg_size
    for i in range(num_images):
        # smooth noise compresses like a photo (not like white noise)
        small = rng.integers(0, 256, (h // 8 + 1, w // 8 + 1, 3), np.uint8)
        img = Image.fromarray(small).resize((w, h), Image.BILINEAR)
        name = f'{i:06d}.jpg'
        img.save(osp.join(root, 'images', name), quality=90)
        images.append(dict(id=i + 1, file_name=name, width=w, height=h))
        for c in rng.choice(len(names), size=int(rng.integers(1, 4)),
                            replace=False):
            anns.append(dict(id=len(anns) + 1, image_id=i + 1,
                             category_id=cat_id[names[c]], iscrowd=0,
                             bbox=[0, 0, 8, 8], area=64))
    cats = [dict(id=cat_id[n], name=n) for n in names]
    with open(osp.join(root, 'annotations', 'instances_test.json'), 'w') as f:
        json.dump(dict(images=images, annotations=anns, categories=cats), f)
    with open(osp.join(root, 'split.json'), 'w') as f:
        json.dump(dict(seen=list(COCO_SEEN_48), unseen=list(COCO_UNSEEN_17)),
                  f)


def write_descriptions(path: str, total_items: int,
                       num_templates: int) -> None:
    """Descriptions of the 65 COCO ZSL classes: ``total_items`` training
    items together with ``num_templates`` templates per class."""
    from granzsl_mm.structures import COCO_SEEN_48, COCO_UNSEEN_17
    names = list(COCO_SEEN_48) + list(COCO_UNSEEN_17)
    per_class = max(1, total_items // len(names) - num_templates)
    classes = {}
    for name in names:
        classes[name] = dict(source='written', sentences=[
            f'a {name} seen in situation number {i}.'
            for i in range(per_class)])
    with open(path, 'w') as f:
        json.dump(dict(format='granzsl_mm.descriptions/v1',
                       notes='gpu_suite synthetic', classes=classes), f)


def load_cfg(p: dict, root: str):
    """``configs/granzsl_coco.py`` on the synthetic data, random weights."""
    from mmengine.config import Config
    cfg = Config.fromfile(CONFIG)
    bb = cfg.model.backbone
    bb.arch, bb.pretrained = p['arch'], 'random'
    if p['arch'] == 'TinyCLIP-test':
        with open(TINY) as f:
            bb.model_cfg = json.load(f)
    size = p['image_size']
    pipeline = [dict(type='LoadImageFromFile'),
                dict(type='Resize', scale=(size, size), backend='pillow',
                     interpolation='bicubic'),
                dict(type='PackInputs')]
    loader = cfg.test_dataloader
    loader.batch_size = p['batch']
    loader.num_workers = min(p['workers'], os.cpu_count() or 1)
    loader.persistent_workers = False
    loader.dataset.update(data_root=root,
                          ann_file='annotations/instances_test.json',
                          data_prefix=dict(img_path='images'),
                          split_file='split.json', pipeline=pipeline)
    tl = cfg.train_dataloader
    tl.batch_size, tl.num_workers = p['text_batch'], 0
    tl.persistent_workers = False
    tl.dataset.description_file = osp.join(root, 'descriptions.json')
    tl.dataset.split_file = osp.join(root, 'split.json')
    tl.dataset.templates = p['templates']
    cfg.log_level = 'WARNING'
    cfg.train_cfg.max_epochs = p['epochs']
    cfg.work_dir = osp.join(root, 'work_dir')
    cfg.default_hooks.checkpoint.interval = 10 ** 6  # no checkpoint writes
    cfg.default_hooks.logger.interval = 10 ** 6
    cfg.default_hooks.checkpoint.save_last = False
    return cfg


def _sync(device: str) -> None:
    if device.startswith('cuda'):
        torch.cuda.synchronize()


def test_throughput(cfg, device: str) -> dict:
    """Images/s of the 4 test variants over the dataloader (decode incl.)."""
    from mmengine.runner import Runner

    from granzsl_mm.registry import METRICS, MODELS
    model = MODELS.build(cfg.model).to(device).eval()
    tta = MODELS.build(dict(type='SnippetTTAModel', module=model,
                            grids=tuple(cfg.tta_model.grids))).to(device)
    loader = Runner.build_dataloader(cfg.test_dataloader)
    meta = dict(loader.dataset.metainfo)
    out = {}
    for views in ('1 view', '1+13 snippets'):
        for dtype in ('fp32', 'bf16'):
            metric = METRICS.build(cfg.test_evaluator)
            metric.dataset_meta = meta
            amp = torch.autocast(device.split(':')[0], dtype=torch.bfloat16,
                                 enabled=dtype == 'bf16')
            tta.autocast_dtype = torch.bfloat16 if dtype == 'bf16' else None
            num, start, first = 0, None, time.perf_counter()
            for i, batch in enumerate(loader):
                if i == 1:  # the first batch warms up (workers, kernels)
                    _sync(device)
                    start, num = time.perf_counter(), 0
                with torch.no_grad():
                    if views == '1 view':
                        with amp:
                            preds = model.test_step(batch)
                    else:
                        preds = tta.test_step(batch)
                metric.process(batch, [dict(
                    pred_score=s.pred_score.float().cpu(),
                    gt_score=s.gt_score.cpu()) for s in preds])
                num += len(preds)
            _sync(device)
            if start is None:  # a single batch: count it, warm-up and all
                start = first
            sec = time.perf_counter() - start
            res = metric.evaluate(len(loader.dataset))
            out[f'{views}, {dtype}'] = dict(images=num, seconds=sec,
                                            images_per_s=num / sec,
                                            gzsl_mAP=res.get('gzsl/mAP'))
    return out


def text_training(cfg, device: str) -> dict:
    """Wall time of ``runner.train()`` (GranZSL text-only training)."""
    from granzsl_mm.engine import build_runner, prepare_train_cfg
    # the recipe's mixed precision on a GPU (tools/train.py --amp)
    prepare_train_cfg(cfg, CONFIG, work_dir=cfg.work_dir,
                      amp=device.startswith('cuda'))
    if not device.startswith('cuda'):
        cfg.env_cfg = dict(cudnn_benchmark=False, dist_cfg=dict(
            backend='gloo'))
    runner = build_runner(cfg)
    items = len(runner.train_dataloader.dataset)
    _sync(device)
    start = time.perf_counter()
    runner.train()
    _sync(device)
    sec = time.perf_counter() - start
    return dict(items=items, epochs=cfg.train_cfg.max_epochs,
                amp=device.startswith('cuda'),
                iters=runner.iter, seconds=sec)


def nuswide_eval(rows: int, seen: int, unseen: int) -> dict:
    """``ZSLMultiLabelMetric`` process + evaluate on NUS-WIDE-size scores."""
    from granzsl_mm.evaluation.metrics.zsl_multilabel_metric import (
        ZSLMultiLabelMetric,
    )
    classes = [f'c{i}' for i in range(seen + unseen)]
    metric = ZSLMultiLabelMetric(topk=(3, 5))
    metric.dataset_meta = dict(classes=classes, seen_classes=classes[:seen],
                               unseen_classes=classes[seen:])
    g = torch.Generator().manual_seed(0)
    start = time.perf_counter()
    for a in range(0, rows, 4096):
        n = min(4096, rows - a)
        scores = torch.rand(n, seen + unseen, generator=g)
        # ~2.4 of the 81 human labels and ~7 of the 925 tags positive
        gt = torch.cat([torch.rand(n, seen, generator=g) < 7 / 925,
                        torch.rand(n, unseen, generator=g) < 2.4 / 81],
                       1).to(torch.int8)
        metric.process(None, [dict(pred_score=s, gt_score=t)
                              for s, t in zip(scores, gt)])
    res = metric.evaluate(rows)
    return dict(rows=rows, classes=seen + unseen,
                seconds=time.perf_counter() - start,
                zsl_mAP=res['zsl/mAP'], gzsl_mAP=res['gzsl/mAP'])


METAFILE = osp.join(REPO, 'configs', 'metafile.yml')


def metafile_models() -> list:
    """``(name, config path)`` of every model in ``configs/metafile.yml``."""
    import yaml
    with open(METAFILE) as f:
        models = yaml.safe_load(f)['Models']
    return [(m['Name'], osp.join(REPO, m['Config'])) for m in models]


def _random_towers(node, tiny: bool) -> None:
    """Every CLIP tower of a model config: random weights (nothing is
    downloaded); ``tiny``: also the tiny test architecture."""
    if isinstance(node, dict):
        if node.get('type') == 'OpenCLIPBackbone':
            node['pretrained'] = 'random'
            if tiny:
                node['arch'] = 'TinyCLIP-test'
                with open(TINY) as f:
                    node['model_cfg'] = json.load(f)
        for value in node.values():
            _random_towers(value, tiny)
    elif isinstance(node, list):
        for value in node:
            _random_towers(value, tiny)


def _test_size(cfg, default: int = 224) -> int:
    """The square side the config's test pipeline resizes to."""
    for step in cfg.get('test_dataloader', {}).get('dataset', {}).get(
            'pipeline', []):
        scale = step.get('scale')
        if step.get('type', '').endswith('Resize') and scale:
            return int(scale if isinstance(scale, int) else scale[0])
    return default


def model_throughput(p: dict, device: str, small: bool) -> dict:
    """Images/s of ``test_step`` of every metafile model on random
    preprocessed-size images (no decoding), random weights.

    A model that cannot be built here (its class-name file is a dataset's
    file, or a ``--small`` tiny tower does not fit its heads) is listed with
    the reason, never left out.
    """
    from mmengine.config import Config
    from mmpretrain.structures import DataSample

    from granzsl_mm.registry import MODELS
    out = {}
    for name, config in metafile_models():
        cfg = Config.fromfile(config)
        model_cfg = cfg.model.to_dict()
        _random_towers(model_cfg, tiny=small)
        size = p['image_size'] if small else _test_size(cfg)
        g = torch.Generator().manual_seed(0)
        images = [torch.randint(0, 256, (3, size, size), generator=g,
                                dtype=torch.uint8)
                  for _ in range(p['batch'])]
        try:
            model = MODELS.build(model_cfg).to(device).eval()
            with torch.no_grad():
                model.test_step(dict(inputs=images, data_samples=[
                    DataSample() for _ in images]))  # warm-up
                _sync(device)
                start, reps = time.perf_counter(), p['model_reps']
                for _ in range(reps):
                    model.test_step(dict(inputs=images, data_samples=[
                        DataSample() for _ in images]))
                _sync(device)
            sec = time.perf_counter() - start
            out[name] = dict(status='ok', model=type(model).__name__,
                             image_size=size, images=reps * len(images),
                             seconds=sec,
                             images_per_s=reps * len(images) / sec)
        except (FileNotFoundError, ValueError, RuntimeError, KeyError) as e:
            out[name] = dict(status='not run', reason=f'{type(e).__name__}: '
                             f'{str(e).splitlines()[0][:200]}')
    return out


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--small', action='store_true',
                        help='tiny CLIP, few images/sentences (CPU smoke)')
    parser.add_argument('--device', default='cuda' if
                        torch.cuda.is_available() else 'cpu')
    parser.add_argument('--images', type=int)
    parser.add_argument('--parts', nargs='+', default=['test', 'train',
                                                       'eval', 'models'],
                        choices=['test', 'train', 'eval', 'models'])
    parser.add_argument('--workdir', help='kept; default a temporary folder')
    parser.add_argument('--json', help='also write the figures here')
    args = parser.parse_args(argv)
    p = dict(SMALL if args.small else FULL)
    if args.images:
        p['images'] = args.images
    torch.manual_seed(0)
    from granzsl_mm import register_all_modules
    register_all_modules()
    root = args.workdir or tempfile.mkdtemp(prefix='granzsl_gpu_suite_')
    gpu = torch.cuda.get_device_name(0) if args.device.startswith('cuda') \
        else f'CPU ({platform.machine()}, {os.cpu_count()} cores)'
    print(f'gpu_suite: {p["arch"]} random weights on {gpu}; torch '
          f'{torch.__version__}; data in {root}', flush=True)
    figures = dict(device=gpu, arch=p['arch'], small=args.small)
    try:
        t0 = time.perf_counter()
        write_coco_data(root, p['images'], p['jpeg'])
        write_descriptions(osp.join(root, 'descriptions.json'), p['items'],
                           80 if isinstance(p['templates'], str)
                           else len(p['templates']))
        print(f'synthetic data: {p["images"]} JPEGs {p["jpeg"][0]}x'
              f'{p["jpeg"][1]} + descriptions in '
              f'{time.perf_counter() - t0:.1f} s', flush=True)
        if 'test' in args.parts:
            res = test_throughput(load_cfg(p, root), args.device)
            figures['test'] = res
            print(f'COCO GZSL test, {p["image_size"]} px, batch '
                  f'{p["batch"]}, {p["workers"]} workers (decode included):')
            for name, r in res.items():
                print(f'  {name:<22} {r["images_per_s"]:9.1f} images/s '
                      f'({r["images"]} images, {r["seconds"]:.2f} s)')
            ips = {k: v['images_per_s'] for k, v in res.items()}
            ratios = {
                'snippets/1 view, fp32': ips['1+13 snippets, fp32']
                / ips['1 view, fp32'],
                'snippets/1 view, bf16': ips['1+13 snippets, bf16']
                / ips['1 view, bf16'],
                'bf16/fp32, 1 view': ips['1 view, bf16'] / ips['1 view, fp32'],
                'bf16/fp32, snippets': ips['1+13 snippets, bf16']
                / ips['1+13 snippets, fp32']}
            figures['test_ratios'] = ratios
            print('  throughput ratios: ' + ', '.join(
                f'{k} x{v:.2f}' for k, v in ratios.items()), flush=True)
        if 'train' in args.parts:
            res = text_training(load_cfg(p, root), args.device)
            figures['train'] = res
            print(f'GranZSL COCO text training: {res["epochs"]} epochs, '
                  f'{res["items"]} items, {res["iters"]} iterations in '
                  f'{res["seconds"]:.1f} s ({res["seconds"] / res["epochs"]:.2f}'
                  ' s/epoch)', flush=True)
        if 'eval' in args.parts:
            res = nuswide_eval(p['eval_rows'], p['eval_seen'],
                               p['eval_unseen'])
            figures['eval'] = res
            print(f'NUS-WIDE-size evaluation: {res["rows"]} x '
                  f'{res["classes"]} scores, ZSLMultiLabelMetric process + '
                  f'evaluate in {res["seconds"]:.1f} s', flush=True)
        if 'models' in args.parts:
            res = model_throughput(p, args.device, args.small)
            figures['models'] = res
            print(f'every model of configs/metafile.yml, test_step on '
                  f'{p["batch"]} random images (no decoding):')
            for name, r in res.items():
                print(f'  {name:<28} ' + (
                    f'{r["images_per_s"]:9.1f} images/s ({r["model"]}, '
                    f'{r["image_size"]} px)' if r['status'] == 'ok' else
                    f'not run: {r["reason"]}'), flush=True)
    finally:
        if not args.workdir:
            shutil.rmtree(root, ignore_errors=True)
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(figures, f, indent=1)
    return figures


if __name__ == '__main__':
    sys.exit(0 if main() else 1)
