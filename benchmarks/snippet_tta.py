"""Snippet TTA throughput: our whole TTA path vs. raw CLIP forwards.

Three ways to score a batch of ``B`` test images with GranZSL snippets
(full image + the 2x2 and 3x3 grids = 14 views per image):

* **ours**: :class:`SnippetTTAModel` ``test_step`` on the plain test batch:
  preprocessing, cutting and resizing the snippets on tensors, ONE backbone
  call on all ``14 B`` views (global + ClearCLIP dense pass), cosines against
  the class names and :func:`aggregate_snippets`;
* **raw encode_image**: open_clip's ``encode_image`` on the same ``14 B``
  views, pre-cut and preprocessed (no dense pass, no scoring): the floor;
* **reference loop**: one forward per crop position (the reference code's
  loop), each on the ``B`` images, then the same aggregation.

The scores of ours and of the loop, and the global features of ours and of
``encode_image``, are checked equal first. Random weights (speed only).

    python benchmarks/snippet_tta.py                         # ViT-B-16, B=2
    python benchmarks/snippet_tta.py --amp bf16              # autocast
    python benchmarks/snippet_tta.py --arch TinyCLIP-test --size 32
"""
import argparse
import json
import os
import os.path as osp
import platform
import time
from typing import Optional

import torch
import torch.nn.functional as F
from mmpretrain.structures import DataSample

from granzsl_mm import register_all_modules
from granzsl_mm.models.tta import aggregate_snippets, cut_snippets
from granzsl_mm.registry import MODELS
from granzsl_mm.structures.constants import CLIP_MEAN, CLIP_STD

TINY = osp.join(osp.dirname(__file__), '..', 'granzsl_mm', 'models',
                'backbones', 'model_configs', 'TinyCLIP-test.json')
MEAN, STD = list(CLIP_MEAN), list(CLIP_STD)


def build(arch: str, num_classes: int, amp: Optional[str] = None):
    """GranZSL (random CLIP, ClearCLIP dense) wrapped in SnippetTTAModel."""
    model_cfg = None
    if arch == 'TinyCLIP-test':
        with open(TINY) as f:
            model_cfg = json.load(f)
    model = MODELS.build(dict(
        type='GranZSL',
        backbone=dict(type='OpenCLIPBackbone', arch=arch, pretrained='random',
                      model_cfg=model_cfg, dense_mode='clearclip'),
        name_learner=dict(type='ClassNameLearner', num_tokens=4),
        num_classes=num_classes, num_seen_classes=num_classes * 3 // 4,
        logit_scale=20.0,
        data_preprocessor=dict(type='TextImageDataPreprocessor', mean=MEAN,
                               std=STD, to_rgb=True)))
    model.eval()
    tta = MODELS.build(dict(type='SnippetTTAModel', module=model,
                            grids=(2, 3), autocast=amp))
    return model, tta


def timed_interleaved(fns: dict, repeats: int) -> dict:
    """Median seconds of each ``fn()``, the functions run in turn.

    Interleaving (one call of each per round, after a warm-up round) keeps
    a shared machine's load drift from favouring one of them.
    """
    times = {name: [] for name in fns}
    for fn in fns.values():
        fn()
    for _ in range(repeats):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return {name: sorted(t)[len(t) // 2] for name, t in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--arch', default='ViT-B-16')
    parser.add_argument('--size', type=int, default=224)
    parser.add_argument('--batch', type=int, default=2)
    parser.add_argument('--classes', type=int, default=65)
    parser.add_argument('--repeats', type=int, default=3)
    parser.add_argument('--threads', type=int, default=2)
    parser.add_argument('--sweep', action='store_true',
                        help='also time each fixed number of views per '
                        'backbone call')
    parser.add_argument('--flops', action='store_true',
                        help='also count FLOPs (--repeats 0: only them)')
    parser.add_argument('--amp', choices=['fp16', 'bf16'],
                        help='autocast the towers in our TTA path (then '
                        'only checked close, not equal)')
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    register_all_modules()
    model, tta = build(args.arch, args.classes, args.amp)
    clip = model.backbone.clip
    g = torch.Generator().manual_seed(0)
    images = [torch.randint(0, 256, (3, args.size, args.size), generator=g,
                            dtype=torch.uint8) for _ in range(args.batch)]

    def data():
        return dict(inputs=list(images),
                    data_samples=[DataSample() for _ in images])

    # Pre-cut, preprocessed views for the baselines.
    imgs = model.data_preprocessor(data(), False)['inputs']
    views = torch.cat([imgs.unsqueeze(1), cut_snippets(imgs, (2, 3))], 1)
    flat = views.flatten(0, 1).contiguous()

    @torch.no_grad()
    def ours():
        out = tta.test_step(data())
        return torch.stack([s.pred_score for s in out])

    @torch.no_grad()
    def raw():
        return clip.encode_image(flat)

    @torch.no_grad()
    def loop():
        per_view = [model.view_cosines(views[:, v])
                    for v in range(views.shape[1])]
        local = torch.stack([p[0] for p in per_view], 1)
        glob = torch.stack([p[1] for p in per_view], 1)
        return aggregate_snippets(local[:, 0], glob[:, 0], local[:, 1:],
                                  glob[:, 1:], (2, 3), model.logit_scale)

    # Equal outputs first.
    s_ours, s_loop = ours(), loop()
    tol = 1e-4 if args.amp is None else 0.5
    torch.testing.assert_close(s_ours, s_loop, rtol=tol, atol=tol)
    with torch.no_grad():
        g_ours = model.backbone(flat)[0]
    torch.testing.assert_close(F.normalize(g_ours, dim=-1),
                               F.normalize(raw(), dim=-1),
                               rtol=1e-4, atol=1e-4)
    print(f'equal: max |score diff| ours vs loop '
          f'{(s_ours - s_loop).abs().max().item():.1e}; global features '
          'of ours == encode_image')

    if args.flops:
        # Machine-independent cost: FLOPs of the matmuls / convolutions /
        # attention (count_flops: attention included), ours vs the raw
        # forwards.
        from granzsl_mm.utils.flop_count import count_flops
        flops = {name: count_flops(fn) for name, fn in (
            ('ours', ours), ('raw', raw), ('loop', loop))}
        print(f"GFLOPs per batch: ours {flops['ours'] / 1e9:.1f}, raw "
              f"encode_image {flops['raw'] / 1e9:.1f}, loop "
              f"{flops['loop'] / 1e9:.1f}; FLOP overhead ours/raw = "
              f"{flops['ours'] / flops['raw']:.3f}")
        if args.repeats == 0:
            return
    med = timed_interleaved(dict(ours=ours, raw=raw, loop=loop),
                            args.repeats)
    t_ours, t_raw, t_loop = med['ours'], med['raw'], med['loop']
    n_img = args.batch
    print(f'{args.arch} random weights, {args.size}px, batch {n_img} images '
          f'x {views.shape[1]} views, {args.classes} classes, '
          f'{args.threads} threads, {platform.machine()} '
          f'{os.cpu_count()} CPUs')
    print(f"{'path':<34}{'s/batch':>9}{'img/s':>9}{'time/raw':>10}")
    for name, sec in (('ours (SnippetTTAModel.test_step)', t_ours),
                      ('raw encode_image on pre-cut views', t_raw),
                      ('reference loop (1 fwd/crop pos.)', t_loop)):
        print(f'{name:<34}{sec:>9.3f}{n_img / sec:>9.2f}{sec / t_raw:>10.3f}')
    print(f'overhead ours/raw = {t_ours / t_raw:.3f}; '
          f'speed-up vs loop = {t_loop / t_ours:.2f}x')
    print(tta.view_chunker.report() or 'views per backbone call: all '
          '(not measured on this device)')
    if args.sweep:
        sweep_views_per_call(model, data, views.shape[1] * n_img,
                             args.repeats)


def sweep_views_per_call(model, data, total_views: int,
                         repeats: int) -> None:
    """Our TTA path with each fixed number of views per backbone call
    (the outputs are the same; only the speed differs)."""
    sizes = sorted({4, 8, 14, 16, 28, total_views} - {None})
    sizes = [v for v in sizes if v <= total_views]
    fns = {}
    for size in sizes:
        tta = MODELS.build(dict(type='SnippetTTAModel', module=model,
                                grids=(2, 3), views_per_call=size))

        @torch.no_grad()
        def run(tta=tta):
            return tta.test_step(data())

        fns[size] = run
    med = timed_interleaved(fns, repeats)
    best = min(med, key=med.get)
    print(f'views per backbone call ({total_views} views per batch): '
          + ', '.join(f'{v}: {total_views / med[v]:.1f} views/s'
                      for v in sizes) + f' -> fastest {best}')


if __name__ == '__main__':
    main()
