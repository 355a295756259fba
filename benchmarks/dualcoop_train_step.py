"""DualCoOp training step: ours vs. the reference code, side by side.

Both run on the same random CLIP weights (open_clip's seeded initialisation,
rounded to float16 as the reference stores its weights) and the same images
and labels: the reference's ``DualCoop`` (``sunxm2357/DualCoOp``, its
``build_model_conv_proj`` on our state dict; its yacs / Dassl config replaced
by a namespace with the fields the model reads) with its ``AsymmetricLoss``,
and our ``DualCoOp``. One step = forward, loss, backward, SGD step on the
prompt contexts. The losses are checked equal first; then interleaved rounds
are timed and the median step times and their ratio printed. Ours differs in
two places: the text tower runs only up to the longest prompt (exact for
CLIP's causal tower) and the image tower skips the attention the reference
computes and throws away.

    git clone https://github.com/sunxm2357/DualCoOp /tmp/dualcoop_ref
    python benchmarks/dualcoop_train_step.py --reference /tmp/dualcoop_ref
    python benchmarks/dualcoop_train_step.py --reference /tmp/dualcoop_ref \\
        --arch RN101 --batch 32 --classes 48 --device cuda
"""
import argparse
import statistics
import sys
import time
from types import SimpleNamespace

import open_clip
import torch
from mmpretrain.structures import DataSample

from granzsl_mm import register_all_modules
from granzsl_mm.registry import MODELS


def reference_model(path, arch, state, names, size, n_ctx):
    """The reference's DualCoop on ``state`` (float32, as its builder)."""
    sys.path.insert(0, path)
    from clip import model as clip_model
    from models.dualcoop import DualCoop
    from utils.asymmetric_loss import AsymmetricLoss
    cfg = SimpleNamespace(
        MODEL=SimpleNamespace(BACKBONE=SimpleNamespace(NAME=arch)),
        INPUT=SimpleNamespace(SIZE=(size, size)),
        TRAINER=SimpleNamespace(COOP_MLC=SimpleNamespace(
            N_CTX_POS=n_ctx, N_CTX_NEG=n_ctx, CSC=False,
            POSITIVE_PROMPT_INIT='', NEGATIVE_PROMPT_INIT='', LS=100.)))
    clip = clip_model.build_model_conv_proj(dict(state), cfg).float()
    model = DualCoop(cfg, names, clip)
    for name, param in model.named_parameters():  # dualcoop(): frozen CLIP
        param.requires_grad_('prompt_learner' in name)
    return model, AsymmetricLoss(2, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--reference', required=True,
                        help='checkout of sunxm2357/DualCoOp')
    parser.add_argument('--arch', default='RN50')
    parser.add_argument('--classes', type=int, default=48)
    parser.add_argument('--batch', type=int, default=8)
    parser.add_argument('--size', type=int, default=224)
    parser.add_argument('--context', type=int, default=64)
    parser.add_argument('--rounds', type=int, default=3)
    parser.add_argument('--threads', type=int, default=2)
    parser.add_argument('--device', default='cpu')
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    register_all_modules()
    torch.manual_seed(0)
    clip = open_clip.create_model(args.arch, pretrained=None,
                                  force_quick_gelu=True)
    state = {k: v.half().float() for k, v in clip.state_dict().items()
             if k != 'attn_mask'}
    names = [f'class {i}' for i in range(args.classes)]
    ref, criterion = reference_model(args.reference, args.arch, state, names,
                                     args.size, args.context)
    ours = MODELS.build(dict(
        type='DualCoOp',
        backbone=dict(type='OpenCLIPBackbone', arch=args.arch + '-quickgelu',
                      pretrained='random'),
        num_classes=args.classes, num_seen_classes=args.classes,
        class_names=names, num_context_tokens=args.context,
        loss=dict(type='DualAsymmetricLoss', loss_weight=0.01)))
    ours.backbone.clip.load_state_dict(state, strict=False)
    with torch.no_grad():
        ours.positive_prompt.context.copy_(ref.prompt_learner.ctx_pos)
        ours.negative_prompt.context.copy_(ref.prompt_learner.ctx_neg)
    device = torch.device(args.device)
    ref.to(device).eval()  # train_coop: model.eval(), prompt learner train
    ours.to(device).train()
    images = torch.randn(args.batch, 3, args.size, args.size, device=device)
    targets = (torch.rand(args.batch, args.classes, device=device) < 0.1
               ).float()
    samples = [DataSample().set_gt_score(t) for t in targets]
    opt_ref = torch.optim.SGD([p for p in ref.parameters()
                               if p.requires_grad], lr=0.0, momentum=0.9)
    opt_ours = torch.optim.SGD([p for p in ours.parameters()
                                if p.requires_grad], lr=0.0, momentum=0.9)

    def step_ref():
        loss = 0.01 * criterion(ref(images), targets)
        opt_ref.zero_grad()
        loss.backward()
        opt_ref.step()
        return loss.item()

    def step_ours():
        loss = ours.loss(images, samples)['loss_asl']
        opt_ours.zero_grad()
        loss.backward()
        opt_ours.step()
        return loss.item()

    def timed(fn):
        if device.type == 'cuda':
            torch.cuda.synchronize()
        start = time.perf_counter()
        value = fn()
        if device.type == 'cuda':
            torch.cuda.synchronize()
        return time.perf_counter() - start, value

    loss_ref, loss_ours = step_ref(), step_ours()  # warm-up, lr 0: no change
    print(f'loss: reference {loss_ref:.6f}, ours {loss_ours:.6f} '
          f'(|diff| {abs(loss_ref - loss_ours):.2e})')
    times_ref, times_ours = [], []
    for _ in range(args.rounds):
        times_ref.append(timed(step_ref)[0])
        times_ours.append(timed(step_ours)[0])
    t_ref, t_ours = statistics.median(times_ref), statistics.median(times_ours)
    print(f'{args.arch}, batch {args.batch}, {args.classes} classes, '
          f'{args.context} + {args.context} context tokens, {args.size} px, '
          f'{args.device}:')
    print(f'  reference step {t_ref * 1e3:.1f} ms, ours {t_ours * 1e3:.1f} ms,'
          f' ratio reference / ours {t_ref / t_ours:.2f}')


if __name__ == '__main__':
    main()
