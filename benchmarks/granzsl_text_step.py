"""GranZSL text-training step: ours vs. the reference's way, side by side.

Reference way (every step): encode the batch's sentences with the frozen text
tower at the full context length (77) and the class prompts at full length,
then the loss and its backward. Ours: sentence embeddings come from the text
encoder's cache (each sentence is encoded once), and the class prompts are
encoded truncated to the last end-of-text position (exact for a causal tower
with argmax pooling). Loss values and name gradients are checked equal first;
then interleaved rounds are timed and the median step times and their ratio
are printed.

    python benchmarks/granzsl_text_step.py                     # ViT-B-16 text tower
    python benchmarks/granzsl_text_step.py --arch TinyCLIP-test --batch 64
"""
import argparse
import json
import os.path as osp
import time

import torch
import torch.nn.functional as F

from granzsl_mm import register_all_modules
from granzsl_mm.models.losses import name_alignment_loss, pair_distinct_loss
from granzsl_mm.registry import MODELS

TINY = osp.join(osp.dirname(__file__), '..', 'granzsl_mm', 'models',
                'backbones', 'model_configs', 'TinyCLIP-test.json')


def full_length_encode(clip, embeds: torch.Tensor,
                       tokens: torch.Tensor) -> torch.Tensor:
    """Text tower on all 77 positions (the reference's TextEncoder)."""
    x = embeds + clip.positional_embedding.to(embeds.dtype)
    x = clip.transformer(x, attn_mask=clip.attn_mask)
    x = clip.ln_final(x)
    x = x[torch.arange(x.shape[0]), tokens.argmax(dim=-1)] @ clip.text_projection
    return F.normalize(x, dim=-1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--arch', default='ViT-B-16')
    parser.add_argument('--classes', type=int, default=65)
    parser.add_argument('--tokens', type=int, default=4)
    parser.add_argument('--batch', type=int, default=512)
    parser.add_argument('--steps', type=int, default=2,
                        help='interleaved rounds')
    parser.add_argument('--ours-repeats', type=int, default=3)
    parser.add_argument('--threads', type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    register_all_modules()
    model_cfg = None
    if args.arch == 'TinyCLIP-test':
        with open(TINY) as f:
            model_cfg = json.load(f)
    enc = MODELS.build(dict(type='CLIPTextEncoder', arch=args.arch,
                            pretrained='random', model_cfg=model_cfg))
    enc.eval()
    clip = enc.clip
    width = enc.token_embedding(enc.tokenize(['x'])).shape[-1]
    learner = MODELS.build(dict(type='ClassNameLearner', num_classes=args.classes,
                                num_tokens=args.tokens, width=width))
    sentences = [f'a thing number {i}, which has part {i % 7} and colour '
                 f'{i % 5}.' for i in range(args.batch)]
    targets = torch.arange(args.batch) % args.classes
    sent_tokens = enc.tokenize(sentences)

    def ours():
        with torch.no_grad():
            sent = enc.encode(sentences)  # cached after the first call
        names = learner(enc)
        return name_alignment_loss(names, sent, targets) + 0.2 * \
            pair_distinct_loss(names)

    def reference():
        with torch.no_grad():
            sent = full_length_encode(clip, enc.token_embedding(sent_tokens),
                                      sent_tokens)
        embeds, tokens = learner.prompt_embeddings(enc)
        names = full_length_encode(clip, embeds, tokens)
        return name_alignment_loss(names, sent, targets) + 0.2 * \
            pair_distinct_loss(names)

    def step(fn):
        learner.zero_grad()
        loss = fn()
        loss.backward()
        return loss.detach(), learner.name_vectors.grad.clone()

    loss_o, grad_o = step(ours)
    loss_r, grad_r = step(reference)
    # fp32: loss equal within 1e-5 (relative: the loss is a sum over the
    # batch), gradients within fp32 noise
    torch.testing.assert_close(loss_o, loss_r, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(grad_o, grad_r, rtol=1e-3, atol=1e-5)
    rel = ((loss_o - loss_r).abs() / loss_r.abs()).item()
    print(f'equal: loss {loss_o.item():.6f} vs {loss_r.item():.6f} '
          f'(relative diff {rel:.1e}), max |grad diff| '
          f'{(grad_o - grad_r).abs().max().item():.2e}')

    # Interleaved rounds (one reference step, then `--ours-repeats` of
    # ours), medians: a shared machine's load drift hits both alike.
    runs = {'reference': [], 'ours': []}
    for _ in range(args.steps):
        for name, fn, reps in (('reference', reference, 1),
                               ('ours', ours, args.ours_repeats)):
            for _ in range(reps):
                start = time.perf_counter()
                step(fn)
                runs[name].append(time.perf_counter() - start)
    times = {k: sorted(v)[len(v) // 2] for k, v in runs.items()}
    print(f'{args.arch} text tower, {args.batch} sentences, {args.classes} '
          f'classes x {args.tokens} tokens, {args.threads} threads')
    print(f'reference step {times["reference"]:.3f} s | ours '
          f'{times["ours"]:.3f} s (medians) | speed-up '
          f'x{times["reference"] / times["ours"]:.1f}')


if __name__ == '__main__':
    main()
