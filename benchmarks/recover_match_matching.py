"""Recover-and-Match's matching step: ours vs. the reference's Sinkhorn.

The matching step builds the transport plan of a batch (regions x labels)
with batched Sinkhorn iterations. Both solvers run the same iteration on the
same inputs: ours (:func:`granzsl_mm.models.losses.functional.sinkhorn`)
keeps the transposed kernel as a view; the reference's
(``EricTan7/RAM`` ``model/ot_solver.py::Sinkhorn``) copies it
(``permute(0, 2, 1).contiguous()``) in every iteration. A third row solves
one image at a time (how a per-image solver such as POT's is called). The
plans are checked equal first; interleaved rounds are then timed with a
the reference's stopping rule and the medians and ratios
printed. The reference's solver overwrites its ``thresh`` argument with
1e-3, so every row runs with that stopping rule (the same iterations).

    git clone https://github.com/EricTan7/RAM /tmp/ram_ref
    python benchmarks/recover_match_matching.py --reference /tmp/ram_ref
    python benchmarks/recover_match_matching.py --reference /tmp/ram_ref \\
        --labels 1006 --device cuda
"""
import argparse
import statistics
import sys
import time

import torch

from granzsl_mm.models.losses.functional.optimal_transport import (
    region_label_cost,
    region_marginals,
    sinkhorn,
)


def _sync(device):
    if device.startswith('cuda'):
        torch.cuda.synchronize()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--reference', required=True,
                        help='a checkout of EricTan7/RAM')
    parser.add_argument('--batch', type=int, default=32)
    parser.add_argument('--regions', type=int, default=196)
    parser.add_argument('--labels', type=int, default=65)
    parser.add_argument('--iters', type=int, default=100)
    parser.add_argument('--rounds', type=int, default=5)
    parser.add_argument('--device', default='cpu')
    args = parser.parse_args()
    sys.path.insert(0, args.reference)
    from model.ot_solver import Sinkhorn as reference_sinkhorn

    gen = torch.Generator().manual_seed(0)
    sim = (torch.rand(args.batch, args.regions, args.labels, generator=gen)
           * 0.6 - 0.2).to(args.device)
    cost = region_label_cost(sim, 100.0)
    a = region_marginals(sim)
    b = torch.full((args.batch, args.labels), 1.0 / args.labels,
                   device=args.device)
    reg = 0.1

    def ours():
        return sinkhorn(a, b, cost, reg, max_iter=args.iters, thresh=1e-3)

    def reference():
        return reference_sinkhorn(a, b, cost, reg, max_iter=args.iters,
                                  thresh=1e-3)

    def per_image():
        return torch.cat([
            sinkhorn(a[i:i + 1], b[i:i + 1], cost[i:i + 1], reg,
                     max_iter=args.iters, thresh=1e-3)
            for i in range(args.batch)])

    diff = (ours() - reference()).abs().max().item()
    print(f'plan max |ours - reference|: {diff:.2e}')
    runs = {'ours (batched)': ours, 'reference (batched, copies Kᵀ)':
            reference, 'ours, one image at a time': per_image}
    times = {k: [] for k in runs}
    for _ in range(args.rounds):
        for name, fn in runs.items():
            _sync(args.device)
            start = time.perf_counter()
            fn()
            _sync(args.device)
            times[name].append(time.perf_counter() - start)
    print(f'batch {args.batch}, {args.regions} regions x {args.labels} '
          f'labels, at most {args.iters} iterations, {args.device}')
    base = statistics.median(times['ours (batched)'])
    for name, t in times.items():
        med = statistics.median(t)
        print(f'  {name:34s} {med * 1e3:9.2f} ms   x{med / base:5.2f} '
              'of ours')


if __name__ == '__main__':
    main()
