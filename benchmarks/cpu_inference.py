"""Tagging a folder of pictures on a CPU: each path against the machine's
limit, side by side in one run.

A folder of ``--images`` generated 640 x 480 JPEGs is tagged with the 80
COCO labels (top 5) by ``configs/clip_zeroshot_coco.py`` on a random
ViT-B/16 (``--clip-checkpoint random``; speed only), the prompt features
computed once beforehand (the prompt cache warm), without and with
snippets (1 + 13 views per image):

* **tool**: ``tools/infer.py`` as a user runs it (in process, through its
  ``main``; model building and the prompt encoding of a cold start
  included: what a user waits for);
* **inferencer**: :class:`~granzsl_mm.apis.MultiLabelInferencer`, the
  path the tool takes, model already built: decoding, resizing, the
  model, top-k;
* **overlapped**: the same with the next batch's images decoded and
  resized in a thread while the model runs (``decode_workers=1``);
* **backbone**: the image tower alone on pre-decoded, pre-resized tensors
  with the same number of views: the ceiling of this model here;
* **onnxruntime**: the exported graph (preprocessing, tower, scores,
  snippets) in ONNX Runtime on the same pre-resized tensors (the
  ``onnx`` extra).

Printed per path: images/s; the machine's measured sgemm GFLOP/s and the
tower's FLOPs per image give each path's fraction of the machine's peak.
The outputs of the paths are checked equal first (within 1e-5 of the
scores where they score). Then the inferencer's time split: CPU
milliseconds per image of decoding, resizing (the test pipeline),
normalising, cutting and resizing the snippets, the tower, and the rest
(cProfile on a CPU clock over ``--split-images`` images, so the load of
other processes inflates no step).

    python benchmarks/cpu_inference.py                 # ViT-B-16, 64 images
    python benchmarks/cpu_inference.py --images 16 --arch TinyCLIP-test
"""
import argparse
import cProfile
import inspect
import io
import os
import os.path as osp
import platform
import pstats
import sys
import tempfile
import time
from contextlib import redirect_stderr, redirect_stdout

import numpy as np
import torch

REPO = osp.abspath(osp.join(osp.dirname(__file__), '..'))
CONFIG = osp.join(REPO, 'configs', 'clip_zeroshot_coco.py')


def write_jpegs(folder: str, num: int, size=(640, 480)) -> list:
    """``num`` smooth random JPEGs (quality 90), deterministic."""
    from PIL import Image
    rng = np.random.default_rng(0)
    paths = []
    for i in range(num):
        small = rng.integers(0, 256, (size[1] // 16, size[0] // 16, 3),
                             dtype=np.uint8)
        img = Image.fromarray(small).resize(size, Image.BICUBIC)
        path = osp.join(folder, f'img_{i:03d}.jpg')
        img.save(path, quality=90)
        paths.append(path)
    return paths


def sgemm_gflops(n: int = 2048, repeats: int = 5) -> float:
    """This machine's float32 matrix-product speed (best of ``repeats``)."""
    a, b = torch.randn(n, n), torch.randn(n, n)
    torch.mm(a, b)
    best = min(_seconds(lambda: torch.mm(a, b)) for _ in range(repeats))
    return 2 * n ** 3 / best / 1e9


def _seconds(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def tower_gflops(model, size: int, views: int) -> float:
    """GFLOPs of the image tower on one image's ``views`` views (attention
    included: :func:`~granzsl_mm.utils.flop_count.count_flops`)."""
    from granzsl_mm.utils.flop_count import count_flops
    x = torch.zeros(views, 3, size, size)
    with torch.no_grad():
        return count_flops(lambda: model.backbone(x)) / 1e9


def config(arch: str):
    """The COCO zero-shot config on a random tower of ``arch`` (an
    open_clip name, or our ``TinyCLIP-test``)."""
    from mmengine.config import Config
    cfg = Config.fromfile(CONFIG)
    cfg.model.backbone.arch = arch
    cfg.model.backbone.pretrained = 'random'
    return cfg


def run_tool(arch: str, paths: list, batch: int, tta: bool,
             out: str) -> float:
    """Seconds of ``tools/infer.py`` on the folder, in process."""
    sys.path.insert(0, osp.join(REPO, 'tools'))
    import infer
    argv = [CONFIG, osp.dirname(paths[0]), '--clip-checkpoint', 'random',
            '--vocab', 'coco80', '--topk', '5', '--batch-size', str(batch),
            '--out', out, '--no-progress']
    if arch != 'ViT-B-16':
        argv += ['--cfg-options', f'model.backbone.arch={arch}']
    if tta:
        argv.append('--tta')
    old = sys.argv
    sys.argv = ['infer.py'] + argv
    try:
        with redirect_stdout(io.StringIO()), redirect_stderr(io.StringIO()):
            start = time.perf_counter()
            code = infer.main()
            sec = time.perf_counter() - start
    finally:
        sys.argv = old
    if code not in (0, None):
        raise RuntimeError(f'tools/infer.py exited {code}')
    return sec


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--arch', default='ViT-B-16')
    parser.add_argument('--images', type=int, default=64)
    parser.add_argument('--batch', type=int, default=8)
    parser.add_argument('--threads', type=int,
                        default=torch.get_num_threads())
    parser.add_argument('--paths', nargs='+',
                        default=['tool', 'inferencer', 'overlapped',
                                 'backbone', 'onnxruntime'],
                        choices=['tool', 'inferencer', 'overlapped',
                                 'backbone', 'onnxruntime'])
    parser.add_argument('--snippets', choices=['no', 'yes', 'both'],
                        default='both')
    parser.add_argument('--split-images', type=int, default=16,
                        help='images of the time split (0: none)')
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    from granzsl_mm import register_all_modules
    register_all_modules()
    modes = dict(no=[False], yes=[True], both=[False, True])[args.snippets]
    figures = dict(arch=args.arch, images=args.images, batch=args.batch,
                   threads=args.threads,
                   machine=f'{platform.machine()}, {os.cpu_count()} CPUs, '
                   f'load average {os.getloadavg()[0]:.1f}')
    with tempfile.TemporaryDirectory(prefix='cpu_inference_') as tmp:
        folder = osp.join(tmp, 'images')
        os.makedirs(folder)
        paths = write_jpegs(folder, args.images)
        # the prompt cache in this run's folder (warm after the first pass)
        old_cache = os.environ.get('GRANZSL_MM_TEXT_CACHE')
        os.environ['GRANZSL_MM_TEXT_CACHE'] = osp.join(tmp, 'text_cache')
        try:
            measure_all(args, figures, paths, modes, tmp)
        finally:
            if old_cache is None:
                os.environ.pop('GRANZSL_MM_TEXT_CACHE', None)
            else:
                os.environ['GRANZSL_MM_TEXT_CACHE'] = old_cache
    return figures


def measure_all(args, figures: dict, paths: list, modes: list,
                tmp: str) -> None:
    """Build the inferencer once; measure and print each mode."""
    from granzsl_mm.apis import MultiLabelInferencer
    torch.manual_seed(0)
    infer = MultiLabelInferencer(config(args.arch), vocabulary='coco80',
                                 show_progress=False)
    model = infer.model
    batch = next(infer.preprocess(paths, batch_size=len(paths)))
    pixels = torch.stack(batch['inputs'])  # decoded, resized, uint8
    size = pixels.shape[-1]
    peak = sgemm_gflops()
    figures['sgemm_gflops'] = peak
    print(f'{args.arch} random weights, {size} px, {args.images} JPEGs '
          f'640x480, 80 labels, batch {args.batch}, {args.threads} '
          f'threads; {figures["machine"]}; sgemm {peak:.0f} GFLOP/s')
    for tta in modes:
        views = 14 if tta else 1
        infer.tta = tta
        gflop = tower_gflops(model, size, views)
        res = measure(infer, pixels, paths, tta, args, tmp)
        name = '1 + 13 snippets' if tta else '1 view'
        print(f'{name}: tower {gflop:.1f} GFLOP per image')
        print(f"  {'path':<14}{'s':>8}{'images/s':>10}{'of peak':>9}"
              f"{'of backbone':>13}")
        base = res.get('backbone')
        for path in args.paths:
            if path not in res:
                continue
            sec = res[path]
            ips = args.images / sec
            line = (f'  {path:<14}{sec:>8.2f}{ips:>10.2f}'
                    f'{100 * ips * gflop / peak:>8.0f}%')
            if base:
                line += f'{base / sec:>12.2f}x'
            print(line)
        figures[name] = dict(seconds=res, gflop_per_image=gflop)


def measure(infer, pixels: torch.Tensor, paths: list, tta: bool, args,
            tmp: str) -> dict:
    """Seconds of each path of ``args.paths`` over all the images."""
    model, views, res = infer.model, 14 if tta else 1, {}
    kw = dict(batch_size=args.batch, topk=5, progress=False)
    infer(paths[:args.batch], **kw)  # warm-up (and the view chunk measured)
    check_equal_outputs(infer, paths, pixels, tta, args, tmp)
    if args.split_images > 0:
        print('  ' + format_split(time_split(
            infer, paths[:args.split_images], args.batch)))
    if 'inferencer' in args.paths:
        res['inferencer'] = _seconds(lambda: infer(paths, **kw))
    if 'overlapped' in args.paths:
        res['overlapped'] = _seconds(
            lambda: infer(paths, decode_workers=1, **kw))
    if 'backbone' in args.paths:
        with torch.no_grad():
            x = model.data_preprocessor(dict(inputs=list(pixels)),
                                        False)['inputs']
        flat = torch.cat([x] * views) if views > 1 else x
        chosen = model.view_chunker.chosen
        chunk = min(chosen.values()) if chosen else args.batch * views

        @torch.no_grad()
        def tower():
            for a in range(0, flat.shape[0], chunk):
                model.backbone(flat[a:a + chunk])
        tower()
        res['backbone'] = _seconds(tower)
    if 'onnxruntime' in args.paths:
        res['onnxruntime'] = onnx_seconds(infer, pixels, tta, args.batch, tmp)
    if 'tool' in args.paths:
        out = osp.join(tmp, 'out.json')
        torch.manual_seed(0)  # the tool's random tower = the inferencer's
        res['tool'] = run_tool(args.arch, paths, args.batch, tta, out)
        print('  tool vs inferencer: ' + compare_tool(infer, paths, out,
                                                       args.batch))
    return res


def _scores(infer, paths: list, batch: int, **kw) -> torch.Tensor:
    preds = infer(paths, batch_size=batch, progress=False,
                  return_datasamples=True, **kw)
    return torch.stack([p.pred_score for p in preds])


def check_equal_outputs(infer, paths: list, pixels: torch.Tensor, tta: bool,
                        args, tmp: str) -> None:
    """The scoring paths give the same scores (cosine units: score
    differences divided by the logit scale), else an error."""
    ref = _scores(infer, paths, args.batch)
    scale = float(infer.model.logit_scale)
    diffs = {'overlapped': _scores(infer, paths, args.batch,
                                   decode_workers=1)}
    if 'onnxruntime' in args.paths:
        diffs['onnxruntime'] = torch.from_numpy(onnx_scores(
            infer, pixels, tta, args.batch, tmp)[0])
    for name, got in diffs.items():
        diff = float((got - ref).abs().max()) / scale
        print(f'  {name} vs inferencer: max |cosine diff| {diff:.1e}')
        if diff > 1e-5:
            raise RuntimeError(f'{name} differs from the inferencer by '
                               f'{diff:.1e} in cosine')


def time_split(infer, paths: list, batch: int) -> dict:
    """CPU seconds per image of each step of the inferencer's path.

    One profiled run (cProfile on ``time.process_time``: the CPU time of
    all this process's threads, which other processes do not inflate);
    each step is the cumulative time of its function: ``decode``
    (``load_image``), ``resize`` (the test pipeline), ``normalise`` (the
    data preprocessor), ``snippets`` (``cut_snippets``), ``backbone`` (the
    tower's ``forward``); ``rest`` is what the run spent elsewhere
    (collating, the cosines, the aggregation, the ranking, Python).

    Returns:
        dict: Step -> CPU seconds per image, and ``wall`` (seconds per
        image of the profiled run).
    """
    from granzsl_mm.apis import inferencer as inferencer_module
    from granzsl_mm.models.tta.snippets import cut_snippets
    model = infer.model
    steps = dict(decode=inferencer_module.load_image,
                 resize=type(infer.pipeline).__call__,
                 normalise=type(model.data_preprocessor).forward,
                 snippets=cut_snippets,
                 backbone=type(model.backbone).forward)
    profile = cProfile.Profile(time.process_time)
    cpu, wall = time.process_time(), time.perf_counter()
    profile.runcall(infer, paths, batch_size=batch, topk=5, progress=False)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    stats = pstats.Stats(profile).stats
    split = {}
    for name, fn in steps.items():
        code = inspect.unwrap(fn).__code__
        key = (code.co_filename, code.co_firstlineno, code.co_name)
        split[name] = stats[key][3] if key in stats else 0.0
    split['rest'] = cpu - sum(split.values())
    split = {k: v / len(paths) for k, v in split.items()}
    split['wall'] = wall / len(paths)
    return split


def format_split(split: dict) -> str:
    """One line of :func:`time_split`'s milliseconds per image."""
    cpu = sum(v for k, v in split.items() if k != 'wall')
    steps = ', '.join(f'{k} {1e3 * v:.1f}' for k, v in split.items()
                      if k != 'wall')
    return (f'time split of the inferencer, CPU ms per image: {steps} '
            f'(backbone {100 * split["backbone"] / cpu:.1f} % of '
            f'{1e3 * cpu:.0f} ms CPU; {1e3 * split["wall"]:.0f} ms wall)')


def compare_tool(infer, paths: list, out: str, batch: int) -> str:
    """How the tool's top-5 compares with the inferencer's ranking."""
    import json
    with open(out) as f:
        tool = {osp.basename(r['img_path']): r for r in json.load(f)[
            'results']}
    ours = infer(paths, batch_size=batch, topk=5, progress=False)
    worst = 0.0
    for path, mine in zip(paths, ours):
        theirs = tool[osp.basename(path)]
        if theirs['labels'] != mine['labels']:
            return f'other labels for {osp.basename(path)}'
        worst = max(worst, max(abs(a - b) for a, b in zip(
            theirs['scores'], mine['scores'])))
    return f'same top-5 labels, max |score diff| {worst:.1e}'


def onnx_scores(infer, batch: torch.Tensor, tta: bool, size: int,
                tmp: str) -> tuple:
    """ONNX Runtime's scores of the exported graph on ``batch``
    (``[N, 3, S, S]`` BGR 0-255, ``size`` per run) and the seconds they
    took (the export and the session set-up not counted)."""
    import onnxruntime as ort

    from granzsl_mm.apis.onnx_export import ScoresGraph, export_onnx
    path = osp.join(tmp, f'graph_{int(tta)}.onnx')
    if not osp.exists(path):
        graph = ScoresGraph(infer.model, grids=infer.grids if tta else None)
        export_onnx(graph, path, image_size=batch.shape[-1], batch_size=size)
    session = ort.InferenceSession(path, providers=['CPUExecutionProvider'])
    x = batch.float().numpy()
    session.run(['scores'], {'images': x[:size]})  # warm-up
    start, out = time.perf_counter(), []
    for a in range(0, x.shape[0], size):
        out.append(session.run(['scores'], {'images': x[a:a + size]})[0])
    return np.concatenate(out), time.perf_counter() - start


def onnx_seconds(infer, batch: torch.Tensor, tta: bool, size: int,
                 tmp: str) -> float:
    """Seconds of ONNX Runtime on the exported graph over ``batch``."""
    return onnx_scores(infer, batch, tta, size, tmp)[1]


if __name__ == '__main__':
    main()
