"""TaI-DPT training step: ours vs. the reference code, side by side.

Both run on the same random CLIP weights (open_clip's seeded initialisation,
rounded to float16 as the reference stores its weights) and the same
captions and labels: the reference's ``DenseCLIP`` (``guozix/TaI-DPT``
``trainers/Caption_distill_double.py``, its ``clip.build_model`` on our
state dict, its config replaced by a namespace: see
``tests/fixtures/golden/record_taidpt.py``) with its double ``ranking_loss``,
and our ``TaIDPT``. One step = the captions through the text tower, both
prompts of every class, loss, backward, SGD step on the two contexts. The
losses are checked equal first; then interleaved rounds are timed and the
median step times and their ratio printed. Ours runs the text tower only up
to the longest caption / prompt (exact for CLIP's causal tower); the
reference runs all 77 positions.

    git clone https://github.com/guozix/TaI-DPT /tmp/taidpt
    PYTHONPATH=. python benchmarks/taidpt_train_step.py --reference /tmp/taidpt
    PYTHONPATH=. python benchmarks/taidpt_train_step.py \\
        --reference /tmp/taidpt --batch 512 --device cuda
"""
import argparse
import statistics
import time

import open_clip
import torch
from mmpretrain.structures import DataSample

from granzsl_mm import register_all_modules
from granzsl_mm.registry import MODELS
from tests.fixtures.golden.record_taidpt import import_reference, make_cfg, ref

WORDS = ('dog', 'cat', 'person', 'car', 'table', 'pizza', 'bus', 'horse')


def captions(num: int, generator: torch.Generator) -> list:
    """Caption-like sentences of 8-20 words naming 1-3 classes."""
    out = []
    for _ in range(num):
        words = torch.randint(len(WORDS), (3, ), generator=generator)
        filler = int(torch.randint(5, 15, (1, ), generator=generator))
        out.append('a photo of ' + ' and '.join(WORDS[i] for i in words) +
                   ' on a sunny day' * (filler // 4) + '.')
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--reference', required=True,
                        help='checkout of guozix/TaI-DPT')
    parser.add_argument('--arch', default='RN50')
    parser.add_argument('--classes', type=int, default=80)
    parser.add_argument('--batch', type=int, default=32)
    parser.add_argument('--context', type=int, default=16)
    parser.add_argument('--rounds', type=int, default=3)
    parser.add_argument('--threads', type=int, default=2)
    parser.add_argument('--device', default='cpu')
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    register_all_modules()
    import_reference(args.reference)
    torch.manual_seed(0)
    clip = open_clip.create_model(args.arch, pretrained=None,
                                  force_quick_gelu=True)
    state = {k: v.half().float() for k, v in clip.state_dict().items()
             if k != 'attn_mask'}
    names = [f'class {i}' for i in range(args.classes - len(WORDS))]
    names = list(WORDS) + names
    reference = ref.trainer.DenseCLIP(
        make_cfg(args.context), names,
        ref.model.build_model(dict(state)).float())
    for name, param in reference.named_parameters():  # build_model: frozen
        param.requires_grad_('prompt_learner' in name)
    ours = MODELS.build(dict(
        type='TaIDPT', backbone=dict(type='OpenCLIPBackbone',
                                     arch=args.arch + '-quickgelu',
                                     pretrained='random'),
        num_classes=args.classes, class_names=names,
        num_context_tokens=args.context))
    ours.backbone.clip.load_state_dict(state, strict=False)
    with torch.no_grad():
        ours.global_prompt.context.copy_(reference.prompt_learner.ctx)
        ours.local_prompt.context.copy_(reference.prompt_learner.ctx_double)
    device = torch.device(args.device)
    reference.to(device).train()
    ours.to(device).train()
    texts = captions(args.batch, torch.Generator().manual_seed(0))
    tokens = ref.clip.tokenize(texts).to(device)
    labels = torch.zeros(args.batch, args.classes, dtype=torch.long)
    for row, text in enumerate(texts):
        for idx, word in enumerate(WORDS):
            labels[row, idx] = int(f' {word} ' in f' {text} ')
    labels = labels.to(device)
    samples = [DataSample().set_gt_score(t.float()) for t in labels]
    opt_ref = torch.optim.SGD([p for p in reference.parameters()
                               if p.requires_grad], lr=0.0, momentum=0.9)
    opt_ours = torch.optim.SGD([p for p in ours.parameters()
                                if p.requires_grad], lr=0.0, momentum=0.9)

    def step_ref():
        glob, local, _, _ = reference(None, tokens)
        loss = ref.utils.ranking_loss(glob, labels, 1.0, 1) + \
            ref.utils.ranking_loss(local, labels, 1.0, 1)
        opt_ref.zero_grad()
        loss.backward()
        opt_ref.step()
        return loss.item()

    def step_ours():
        losses = ours.loss(texts, samples)
        loss = losses['loss_global'] + losses['loss_local']
        opt_ours.zero_grad()
        loss.backward()
        opt_ours.step()
        return loss.item()

    def timed(fn):
        if device.type == 'cuda':
            torch.cuda.synchronize()
        start = time.perf_counter()
        fn()
        if device.type == 'cuda':
            torch.cuda.synchronize()
        return time.perf_counter() - start

    loss_ref, loss_ours = step_ref(), step_ours()  # warm-up, lr 0: no change
    print(f'loss: reference {loss_ref:.6f}, ours {loss_ours:.6f} '
          f'(|diff| {abs(loss_ref - loss_ours):.2e})')
    times_ref, times_ours = [], []
    for _ in range(args.rounds):
        times_ref.append(timed(step_ref))
        times_ours.append(timed(step_ours))
    t_ref, t_ours = statistics.median(times_ref), statistics.median(times_ours)
    print(f'{args.arch}, batch {args.batch} captions, {args.classes} classes,'
          f' {args.context} + {args.context} context tokens, {args.device}:')
    print(f'  reference step {t_ref * 1e3:.1f} ms, ours {t_ours * 1e3:.1f} ms,'
          f' ratio reference / ours {t_ref / t_ours:.2f}')


if __name__ == '__main__':
    main()
