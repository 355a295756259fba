"""Text-encoder benchmark: EOT truncation vs the full 77-token context.

Random-weight ViT-B-16 text tower (no download). First checks that truncated
and full encodings agree (< 1e-5), then prints the speed-up ratio measured
side by side at class-name prompt lengths. Run:
``python benchmarks/text_encoder.py [--arch ViT-B-16] [--repeats 3]``.
"""
import argparse
import time
from typing import Callable, List, Tuple

import torch

from granzsl_mm.models.text import CLIPTextEncoder

__all__ = ['build_encoders', 'class_name_prompts', 'check_agreement',
           'time_call', 'truncation_speedup', 'main']


def build_encoders(arch: str = 'ViT-B-16'
                   ) -> Tuple[CLIPTextEncoder, CLIPTextEncoder]:
    """A truncating and a full-length encoder sharing random weights."""
    torch.manual_seed(0)
    fast = CLIPTextEncoder(arch, pretrained='random', truncate=True)
    full = CLIPTextEncoder.from_clip(fast.clip, fast.tokenizer,
                                     truncate=False)
    return fast, full


def class_name_prompts(num: int = 65, words: int = 4) -> List[str]:
    """``num`` prompts "a photo of a X X X X." (COCO-sized vocabulary)."""
    return [f'a photo of a {" ".join([f"name{i}"] * words)}.'
            for i in range(num)]


def _encode_tokens(encoder: CLIPTextEncoder, texts: List[str]) -> torch.Tensor:
    tokens = encoder.tokenize(texts)
    with torch.no_grad():
        return encoder.encode_embeddings(encoder.token_embedding(tokens),
                                         tokens)


def check_agreement(fast: CLIPTextEncoder, full: CLIPTextEncoder,
                    texts: List[str]) -> float:
    """Max abs difference of truncated vs full features (asserts < 1e-5)."""
    diff = (_encode_tokens(fast, texts) - _encode_tokens(full, texts)
            ).abs().max().item()
    assert diff < 1e-5, f'truncated and full encodings differ by {diff}'
    return diff


def time_call(fn: Callable[[], object], repeats: int = 3) -> float:
    """Best wall time of ``repeats`` calls after one warm-up."""
    fn()
    best = float('inf')
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def truncation_speedup(fast: CLIPTextEncoder, full: CLIPTextEncoder,
                       texts: List[str], repeats: int = 3
                       ) -> Tuple[float, float]:
    """Times (full, truncated) for encoding ``texts`` without the cache."""
    t_full = time_call(lambda: _encode_tokens(full, texts), repeats)
    t_fast = time_call(lambda: _encode_tokens(fast, texts), repeats)
    return t_full, t_fast


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--arch', default='ViT-B-16')
    parser.add_argument('--num', type=int, default=65)
    parser.add_argument('--repeats', type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(max(1, torch.get_num_threads()))
    fast, full = build_encoders(args.arch)
    texts = class_name_prompts(args.num)
    diff = check_agreement(fast, full, texts)
    length = int(fast.tokenize(texts).argmax(-1).max()) + 1
    print(f'{args.arch} text tower, {args.num} prompts, longest EOT+1 = '
          f'{length} of 77 tokens; max |truncated - full| = {diff:.2e}')
    t_full, t_fast = truncation_speedup(fast, full, texts, args.repeats)
    print(f'full 77 tokens: {t_full * 1e3:.1f} ms | truncated: '
          f'{t_fast * 1e3:.1f} ms | speed-up x{t_full / t_fast:.2f}')


if __name__ == '__main__':
    main()
