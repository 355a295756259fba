"""Fill a feature cache from a model's frozen backbone (resumable).

The rows of the dataset not yet marked done are encoded in batches by the
model's data preprocessor and backbone and written to the
:class:`~granzsl_mm.apis.feature_store.FeatureCache`; an interrupted run
continues where it stopped.
"""
from typing import Callable, Optional

import torch

from .feature_store import FeatureCache, backbone_fingerprint

__all__ = ['extract_features']


def _collate(batch: list) -> dict:
    from mmengine.dataset import pseudo_collate
    return pseudo_collate(batch)


@torch.no_grad()
def extract_features(model: torch.nn.Module,
                     dataset: torch.utils.data.Dataset,
                     out_dir: str,
                     dense: bool = False,
                     dense_dtype: str = 'fp16',
                     global_dtype: str = 'fp32',
                     batch_size: int = 32,
                     num_workers: int = 0,
                     progress: bool = True,
                     info: Optional[dict] = None,
                     on_batch: Optional[Callable[[int], None]] = None
                     ) -> FeatureCache:
    """Encode a dataset with a model's frozen backbone into a cache.

    Resumable: rows already marked done in ``out_dir`` are skipped, so an
    interrupted run continues where it stopped.

    Args:
        model (nn.Module): Has ``data_preprocessor`` and ``backbone``
            returning ``(global [B, D], dense [B, P, D] or None)`` (e.g.
            :class:`GranZSL`).
        dataset (Dataset): Items as the test pipeline packs them
            (``inputs``, ``data_samples`` with ``gt_score`` when known).
        out_dir (str): Cache directory.
        dense (bool): Also store the dense features (off by default: at
            Open Images scale they are ~100x the global ones, see
            :func:`~granzsl_mm.apis.feature_store.cache_bytes_per_image`).
        dense_dtype (str): ``'fp16'`` or ``'fp32'``.
        global_dtype (str): ``'fp32'`` or ``'fp16'``.
        batch_size (int): Images per forward.
        num_workers (int): DataLoader workers.
        progress (bool): Show mmengine's progress bar.
        info (dict, optional): Provenance stored in meta.json.
        on_batch (Callable, optional): Called with the number of rows after
            each written batch (hooks for tests / logging).

    Returns:
        FeatureCache: The (complete) cache, writable.
    """
    was_training = model.training
    model.eval()
    num = len(dataset)
    probe = _collate([dataset[0]])
    probe = model.data_preprocessor(probe, False)
    glob, dense_feat = model.backbone(probe['inputs'])
    if dense and dense_feat is None:
        raise ValueError('dense=True needs a backbone with dense features')
    gt = getattr(probe['data_samples'][0], 'gt_score', None) \
        if probe.get('data_samples') else None
    cache = FeatureCache.create(
        out_dir, num, glob.shape[-1],
        dense_positions=dense_feat.shape[1] if dense else None,
        num_classes=None if gt is None else int(gt.numel()),
        global_dtype=global_dtype, dense_dtype=dense_dtype,
        fingerprint=backbone_fingerprint(model.backbone), info=info)
    from mmengine.logging import print_log
    print_log(f'feature cache {out_dir}: {cache.size_description()}',
              logger='current')
    todo = cache.missing().tolist()
    if todo:
        loader = torch.utils.data.DataLoader(
            torch.utils.data.Subset(dataset, todo), batch_size=batch_size,
            num_workers=num_workers, collate_fn=_collate, shuffle=False)
        bar = None
        if progress:
            from mmengine.utils import ProgressBar
            bar = ProgressBar(len(todo))
        pos = 0
        for batch in loader:
            size = len(batch['inputs'])
            indices = todo[pos:pos + size]
            pos += size
            data = model.data_preprocessor(batch, False)
            glob, dense_feat = model.backbone(data['inputs'])
            samples = data.get('data_samples') or []
            gts = [getattr(s, 'gt_score', None) for s in samples]
            gt_batch = torch.stack(gts) if gts and all(
                g is not None for g in gts) else None
            cache.write(indices, glob, dense_feat if dense else None,
                        gt_batch)
            if bar is not None:
                for _ in range(size):
                    bar.update()
            if on_batch is not None:
                on_batch(size)
    model.train(was_training)
    return cache
