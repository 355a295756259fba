"""Test data pipeline throughput (images/s) with snippets, 2 vs 8 workers.

Generated JPEGs (``--size``, default 640x480, COCO-like) are read through

* **ours**: the GranZSL test pipeline (``LoadImageFromFile``, bicubic
  ``Resize`` to S x S, ``PackInputs``); the 13 snippets are cut later, on
  tensors, inside :class:`SnippetTTAModel` (not a data-loading cost);
* **reference-style**: the same plus the 2x2 and 3x3 crops cut and resized
  to S x S with PIL per crop in the worker (how the reference feeds its
  crop loop): 14 images per sample leave the worker.

Both are checked to give the same full-image tensor first. Images/s at
``--workers`` (default 2 and 8) show whether decoding, resizing or the
model is the bottleneck: compare with ``benchmarks/snippet_tta.py``.

    python benchmarks/data_pipeline.py [--num 320] [--workers 2 8]
"""
import argparse
import os
import os.path as osp
import platform
import tempfile
import time

import numpy as np
import torch
from mmengine.dataset import Compose, pseudo_collate
from PIL import Image

from granzsl_mm import register_all_modules
from granzsl_mm.models.tta import snippet_boxes


def make_jpegs(root: str, num: int, width: int, height: int) -> list:
    """Write ``num`` smooth random JPEGs (quality 90) and return paths."""
    rng = np.random.default_rng(0)
    paths = []
    yy, xx = np.mgrid[0:height, 0:width]
    for i in range(num):
        f = rng.uniform(0.005, 0.05, size=3)
        img = np.stack([127 + 100 * np.sin(f[c] * (xx + yy * (c + 1)) + i)
                        for c in range(3)], -1)
        img += rng.normal(0, 12, img.shape)
        path = osp.join(root, f'{i:05d}.jpg')
        Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).save(
            path, quality=90)
        paths.append(path)
    return paths


class PipelineDataset(torch.utils.data.Dataset):
    """Image paths through an mmcv/mmpretrain transform pipeline."""

    def __init__(self, paths, pipeline, crops_size=None, grids=(2, 3)):
        self.paths = paths
        self.pipeline = Compose(pipeline)
        self.crops_size = crops_size
        self.grids = grids

    def __len__(self):
        return len(self.paths)

    def __getitem__(self, i):
        out = self.pipeline(dict(img_path=self.paths[i]))
        if self.crops_size:
            # reference style: PIL crops of the resized image, each resized
            img = Image.fromarray(out['inputs'].permute(1, 2, 0).numpy())
            size = self.crops_size
            crops = [np.asarray(img.crop(box).resize((size, size),
                                                     Image.BICUBIC))
                     for box in snippet_boxes(size, self.grids)]
            out['crops'] = torch.from_numpy(np.stack(crops)).permute(
                0, 3, 1, 2)
        return out


def images_per_s(dataset, workers: int, batch: int) -> float:
    """Throughput of one full pass of a DataLoader.

    Timed from the iterator's creation (worker start-up included): timing
    from the first batch would credit the workers' prefetching of up to
    ``2 * workers`` batches to nobody.
    """
    loader = torch.utils.data.DataLoader(
        dataset, batch_size=batch, num_workers=workers,
        collate_fn=pseudo_collate, persistent_workers=False)
    count, start = 0, time.perf_counter()
    for batch_data in loader:
        count += len(batch_data['inputs'])
    return count / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--num', type=int, default=320)
    parser.add_argument('--size', type=int, nargs=2, default=(640, 480))
    parser.add_argument('--image-size', type=int, default=224)
    parser.add_argument('--batch', type=int, default=8)
    parser.add_argument('--workers', type=int, nargs='+', default=(2, 8))
    args = parser.parse_args()
    register_all_modules()
    s = args.image_size
    pipeline = [
        dict(type='LoadImageFromFile'),
        dict(type='Resize', scale=(s, s), backend='pillow',
             interpolation='bicubic'),
        dict(type='PackInputs'),
    ]
    with tempfile.TemporaryDirectory() as root:
        paths = make_jpegs(root, args.num, *args.size)
        ours = PipelineDataset(paths, pipeline)
        ref = PipelineDataset(paths, pipeline, crops_size=s)
        a, b = ours[0], ref[0]
        assert torch.equal(a['inputs'], b['inputs'])
        assert b['crops'].shape == (13, 3, s, s)
        print(f'equal: full-image tensors identical; reference adds '
              f'{b["crops"].shape[0]} crops per image')
        print(f'{args.num} JPEGs {args.size[0]}x{args.size[1]} -> {s}px, '
              f'batch {args.batch}, {platform.machine()} {os.cpu_count()} '
              f'CPUs')
        print(f"{'pipeline':<34}{'workers':>8}{'img/s':>9}")
        rates = {}
        for workers in args.workers:
            for name, ds in (('ours (snippets cut on tensors)', ours),
                             ('reference-style (PIL crops)', ref)):
                rate = images_per_s(ds, workers, args.batch)
                rates[(name, workers)] = rate
                print(f'{name:<34}{workers:>8}{rate:>9.1f}')
        for workers in args.workers:
            r = rates[('ours (snippets cut on tensors)', workers)] / rates[
                ('reference-style (PIL crops)', workers)]
            print(f'{workers} workers: ours / reference-style = {r:.2f}x')


if __name__ == '__main__':
    main()
