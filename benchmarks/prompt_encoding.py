"""Prompt encoding before the first image: today's vs cut + cached, side by side.

``tools/infer.py --vocab coco80`` on a config with the 80 OpenAI templates
runs 80 x 80 = 6,400 prompts through the text tower before it scores an
image. Three ways, on random ViT-B-16 weights (``pretrained='random'``, no
download; the cost does not depend on the weights' values):

* **today**: every prompt at the full 77-token context, no cache (how the
  prompts were encoded before they were cut and cached);
* **first run**: prompts sorted by token length, each batch cut to its own
  longest prompt (exact: causal mask + EOT pooling), features written to an
  on-disk cache (an empty folder);
* **second run**: a new encoder (a new process, as far as the cache can
  tell) on the same weights and folder: hashing the text tower's weights and
  reading the shard.

The cut encoding is checked against the full one first (max difference
printed). ``--num-names N`` keeps the first N COCO names (N x 80 prompts)
when the full-length pass is too slow for the machine, or
``--today-prompts N`` times today's pass on N prompts and scales it (linear:
every prompt is 77 tokens); the printed table says what ran.

    python benchmarks/prompt_encoding.py [--num-names 80] [--threads 2]
        [--today-prompts 320]
"""
import argparse
import os
import platform
import tempfile
import time

import torch

from granzsl_mm.models.text import CLIPTextEncoder
from granzsl_mm.structures import COCO80_CLASSES
from granzsl_mm.structures.prompts import get_templates

__all__ = ['prompts', 'main']


def prompts(num_names: int) -> list:
    """``num_names`` COCO names x the 80 OpenAI ImageNet templates."""
    templates = get_templates('openai_imagenet_80')
    return [t.format(n) for n in COCO80_CLASSES[:num_names]
            for t in templates]


def _timed(fn) -> tuple:
    start = time.perf_counter()
    with torch.no_grad():
        out = fn()
    return out, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--arch', default='ViT-B-16')
    parser.add_argument('--num-names', type=int, default=80)
    parser.add_argument('--threads', type=int, default=2)
    parser.add_argument('--batch-size', type=int, default=256)
    parser.add_argument('--today-prompts', type=int, default=0,
                        help="time today's full-length pass on only the "
                        'first N prompts and scale it to all (its cost is '
                        'linear in the prompts: 77 tokens each); 0: all')
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    texts = prompts(args.num_names)
    torch.manual_seed(0)
    base = CLIPTextEncoder(args.arch, pretrained='random', cache_dir=None,
                           batch_size=args.batch_size, progress=False)
    today = CLIPTextEncoder.from_clip(base.clip, base.tokenizer,
                                      truncate=False, cache_dir=None,
                                      batch_size=args.batch_size,
                                      progress=False)
    with tempfile.TemporaryDirectory() as cache:
        first = CLIPTextEncoder.from_clip(base.clip, base.tokenizer,
                                          cache_dir=cache,
                                          batch_size=args.batch_size)
        feats_first, t_first = _timed(lambda: first.encode(texts))
        second = CLIPTextEncoder.from_clip(base.clip, base.tokenizer,
                                           cache_dir=cache,
                                           batch_size=args.batch_size)
        feats_second, t_second = _timed(lambda: second.encode(texts))
        assert second.num_encoded == 0 and torch.equal(feats_first,
                                                       feats_second)
        shard = sum(os.path.getsize(os.path.join(cache, f))
                    for f in os.listdir(cache))
    part = texts[:args.today_prompts] if args.today_prompts else texts
    feats_today, t_today = _timed(lambda: today._encode_uncached(part))
    t_today *= len(texts) / len(part)
    diff = float((feats_today - feats_first[:len(part)]).abs().max())
    print(f'{args.arch} random weights, {len(texts)} prompts '
          f'({args.num_names} COCO names x 80 templates), '
          f'batch {args.batch_size}, {args.threads} threads, torch '
          f'{torch.__version__}, {platform.processor() or platform.machine()}'
          f', {os.cpu_count()} cores')
    if len(part) < len(texts):
        print(f"today's time measured on the first {len(part)} prompts, "
              f'scaled by {len(texts) / len(part):.1f}')
    print(f'max |cut - full| = {diff:.2e}; cache shard {shard / 1e6:.1f} MB')
    print(f'{"run":<34}{"seconds":>10}{"vs today":>10}')
    for name, sec in (('today (77 tokens, no cache)', t_today),
                      ('first run (cut + write cache)', t_first),
                      ('second run (cache hit)', t_second)):
        print(f'{name:<34}{sec:>10.2f}{t_today / sec:>9.1f}x')


if __name__ == '__main__':
    main()
