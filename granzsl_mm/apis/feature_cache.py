"""Frozen-backbone feature cache: extract once, score any vocabulary later.

GranZSL (and any method with a frozen image tower) scores images as cosines
between fixed image features and class embeddings. Caching the image side
turns a validation pass into a few matrix products: per-epoch validation in
seconds instead of re-running the image tower, and any learned class names
or vocabulary can be scored from the same cache.

Layout of a cache directory (NumPy ``.npy`` files, opened memory-mapped)::

    meta.json        num_images, embed_dim, dense (positions or null), dtypes
    global.npy       [N, D]     global image embeddings (float32 or float16)
    dense.npy        [N, P, D]  dense (ClearCLIP) features, optional
    gt_score.npy     [N, C]     labels in {1, 0, -1} (int8), when known
    done.npy         [N]        1 where the row is written (resume marker)

Disk size per image (:func:`cache_bytes_per_image`): global ``D`` values,
dense ``P x D`` (optional, fp16 by default), ``gt_score`` ``C`` bytes, 1
byte ``done``. ViT-B/16 at 224 px (``D = 512``, ``P = 196``): global fp32
2 KiB; dense fp16 196 KiB (fp32: 392 KiB); Open Images' 7,586 labels 7.4
KiB. So the 125,456 Open Images test images take 1.2 GB with global
features and labels (the default), 26.4 GB with dense fp16 features too.

Three parts, one concept: the storage (:class:`FeatureCache`), filling it
from a model's frozen backbone (:func:`extract_features`, resumable: rows
are flushed before their ``done`` flag, so an interrupted extraction restarts
on the missing rows only; meta.json records a fingerprint of the backbone
weights and resuming with other weights is refused), and scoring a
vocabulary from it with no image tower at all (:func:`cached_scores`,
:func:`evaluate_cached`: cosines pooled like :meth:`GranZSL.predict` without
snippets; the logit scale is a required argument, GranZSL's configs use 20).
"""
import hashlib
import json
import os
import os.path as osp
from typing import Callable, Optional, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from granzsl_mm.models.tta.snippets import image_scores
from granzsl_mm.utils.atomic_io import atomic_write_text

__all__ = ['FeatureCache', 'backbone_fingerprint', 'cache_bytes_per_image',
           'describe_cache_size', 'extract_features', 'cached_scores',
           'iter_cached_scores', 'evaluate_cached']


_DTYPES = {'fp32': np.float32, 'fp16': np.float16}


def cache_bytes_per_image(embed_dim: int,
                          dense_positions: Optional[int] = None,
                          num_classes: Optional[int] = None,
                          global_dtype: str = 'fp32',
                          dense_dtype: str = 'fp16') -> dict:
    """Bytes one image takes in each file of a cache.

    Args:
        embed_dim (int): ``D``.
        dense_positions (int, optional): ``P`` (``None``: no dense file).
        num_classes (int, optional): ``C`` of ``gt_score`` (``None``: none).
        global_dtype (str): ``'fp32'`` or ``'fp16'``.
        dense_dtype (str): ``'fp16'`` or ``'fp32'``.

    Returns:
        dict: ``global``, ``dense``, ``gt_score``, ``done`` and ``total``
        bytes per image (the ``.npy`` headers, 128 bytes a file, aside).
    """
    for name in (global_dtype, dense_dtype):
        if name not in _DTYPES:
            raise ValueError(f'dtype must be one of {list(_DTYPES)}, '
                             f'got {name!r}')
    size = {'global': embed_dim * np.dtype(_DTYPES[global_dtype]).itemsize,
            'dense': 0 if dense_positions is None else
            dense_positions * embed_dim *
            np.dtype(_DTYPES[dense_dtype]).itemsize,
            'gt_score': num_classes or 0, 'done': 1}
    size['total'] = sum(size.values())
    return size


def _human(num: float) -> str:
    for unit in ('B', 'KiB', 'MiB', 'GiB', 'TiB'):
        if num < 1024 or unit == 'TiB':
            return f'{num:.1f} {unit}' if unit != 'B' else f'{int(num)} B'
        num /= 1024
    return f'{num:.1f} TiB'


def describe_cache_size(num_images: int, embed_dim: int,
                        dense_positions: Optional[int] = None,
                        num_classes: Optional[int] = None,
                        global_dtype: str = 'fp32',
                        dense_dtype: str = 'fp16') -> str:
    """One line: the size per image of each part and the total on disk.

    Args: as :func:`cache_bytes_per_image`, plus ``num_images`` (``N``).

    Returns:
        str: E.g. ``'global 512 fp32 2.0 KiB + ... = 9.4 KiB/image x 125456
        images = 1.1 GiB'``.
    """
    size = cache_bytes_per_image(embed_dim, dense_positions, num_classes,
                                 global_dtype, dense_dtype)
    parts = [f'global {embed_dim} {global_dtype} {_human(size["global"])}']
    if dense_positions is not None:
        parts.append(f'dense {dense_positions}x{embed_dim} {dense_dtype} '
                     f'{_human(size["dense"])}')
    if num_classes:
        parts.append(f'gt_score {num_classes} int8 '
                     f'{_human(size["gt_score"])}')
    parts.append('done 1 B')
    total = size['total'] * num_images
    return (' + '.join(parts) + f' = {_human(size["total"])}/image x '
            f'{num_images} images = {_human(total)} ({total / 1e9:.2f} GB)')


class FeatureCache:
    """A memory-mapped feature cache directory (see module docstring).

    Args:
        root (str): The cache directory.
        mode (str): ``'r'`` (read-only) or ``'r+'`` (writable).
    """

    def __init__(self, root: str, mode: str = 'r') -> None:
        meta_path = osp.join(root, 'meta.json')
        if not osp.exists(meta_path):
            raise FileNotFoundError(f'no feature cache at {root!r} '
                                    '(meta.json missing)')
        with open(meta_path) as f:
            self.meta = json.load(f)
        self.root = root
        self.global_feats = np.load(osp.join(root, 'global.npy'),
                                    mmap_mode=mode)
        self.done = np.load(osp.join(root, 'done.npy'), mmap_mode=mode)
        dense = osp.join(root, 'dense.npy')
        self.dense_feats = np.load(dense, mmap_mode=mode) \
            if osp.exists(dense) else None
        gt = osp.join(root, 'gt_score.npy')
        self.gt_score = np.load(gt, mmap_mode=mode) if osp.exists(gt) \
            else None

    @classmethod
    def create(cls, root: str, num_images: int, embed_dim: int,
               dense_positions: Optional[int] = None,
               num_classes: Optional[int] = None,
               global_dtype: str = 'fp32', dense_dtype: str = 'fp16',
               fingerprint: Optional[str] = None,
               info: Optional[dict] = None) -> 'FeatureCache':
        """Create (or reopen, if compatible) a writable cache.

        Args:
            root (str): Directory to create.
            num_images (int): ``N``.
            embed_dim (int): ``D``.
            dense_positions (int, optional): ``P``; ``None``: no dense file.
            num_classes (int, optional): ``C`` of ``gt_score``.
            global_dtype (str): ``'fp32'`` or ``'fp16'``.
            dense_dtype (str): ``'fp16'`` (default) or ``'fp32'``.
            fingerprint (str, optional): Identifies the weights that made
                the features (:func:`backbone_fingerprint`); resuming with
                other weights is refused.
            info (dict, optional): Extra provenance stored in meta.json
                (e.g. the config and architecture).

        Returns:
            FeatureCache: Opened in ``'r+'`` mode.

        Raises:
            ValueError: If an existing cache has a different layout.
        """
        for name in (global_dtype, dense_dtype):
            if name not in _DTYPES:
                raise ValueError(f'dtype must be one of {list(_DTYPES)}, '
                                 f'got {name!r}')
        meta = dict(num_images=int(num_images), embed_dim=int(embed_dim),
                    dense_positions=None if dense_positions is None else
                    int(dense_positions),
                    num_classes=None if num_classes is None else
                    int(num_classes),
                    global_dtype=global_dtype, dense_dtype=dense_dtype,
                    backbone_fingerprint=fingerprint)
        meta_path = osp.join(root, 'meta.json')
        if osp.exists(meta_path):
            with open(meta_path) as f:
                old = json.load(f)
            layout = {k: old.get(k) for k in meta}
            if layout != meta:
                raise ValueError(f'existing cache at {root!r} has layout '
                                 f'{layout}, requested {meta} (other shapes, '
                                 'dtypes or backbone weights); use another '
                                 'directory')
            return cls(root, mode='r+')
        os.makedirs(root, exist_ok=True)

        def new(name, shape, dtype):
            np.lib.format.open_memmap(osp.join(root, name), mode='w+',
                                      dtype=dtype, shape=shape).flush()

        new('global.npy', (num_images, embed_dim), _DTYPES[global_dtype])
        if dense_positions is not None:
            new('dense.npy', (num_images, dense_positions, embed_dim),
                _DTYPES[dense_dtype])
        if num_classes is not None:
            new('gt_score.npy', (num_images, num_classes), np.int8)
        new('done.npy', (num_images, ), np.uint8)
        meta.update(info or {})
        # written last, atomically: marks a complete layout
        atomic_write_text(json.dumps(meta, indent=1), meta_path)
        return cls(root, mode='r+')

    def __len__(self) -> int:
        return int(self.meta['num_images'])

    def size_description(self) -> str:
        """:func:`describe_cache_size` of this cache's layout."""
        m = self.meta
        return describe_cache_size(len(self), m['embed_dim'],
                                   m['dense_positions'], m['num_classes'],
                                   m['global_dtype'], m['dense_dtype'])

    @property
    def complete(self) -> bool:
        """Whether every row has been written."""
        return bool(np.all(self.done))

    def missing(self) -> np.ndarray:
        """Indices of the rows not yet written."""
        return np.flatnonzero(np.asarray(self.done) == 0)

    def write(self, indices: Sequence[int], global_feats: torch.Tensor,
              dense_feats: Optional[torch.Tensor] = None,
              gt_score: Optional[torch.Tensor] = None) -> None:
        """Write rows, flush them, then mark them done.

        Args:
            indices (Sequence[int]): Dataset indices of the rows.
            global_feats (torch.Tensor): ``[B, D]``.
            dense_feats (torch.Tensor, optional): ``[B, P, D]``.
            gt_score (torch.Tensor, optional): ``[B, C]``.
        """
        idx = np.asarray(indices, dtype=np.int64)
        self.global_feats[idx] = _np(global_feats)
        self.global_feats.flush()
        if self.dense_feats is not None:
            if dense_feats is None:
                raise ValueError('this cache stores dense features')
            self.dense_feats[idx] = _np(dense_feats)
            self.dense_feats.flush()
        if self.gt_score is not None and gt_score is not None:
            self.gt_score[idx] = _np(gt_score).astype(np.int8)
            self.gt_score.flush()
        self.done[idx] = 1
        self.done.flush()


def backbone_fingerprint(module: torch.nn.Module) -> str:
    """A short hash of a module's parameter shapes and values.

    Args:
        module (nn.Module): E.g. the frozen backbone.

    Returns:
        str: 16 hex digits; equal weights give equal fingerprints.
    """
    digest = hashlib.sha1()
    with torch.no_grad():
        for name, param in module.state_dict().items():
            if not torch.is_tensor(param) or not param.is_floating_point():
                continue
            p = param.detach().float()
            digest.update(name.encode())
            digest.update(str(tuple(p.shape)).encode())
            digest.update(np.float64(p.sum().item()).tobytes())
            digest.update(np.float64(p.abs().sum().item()).tobytes())
            digest.update(p.flatten()[:64].cpu().numpy().tobytes())
    return digest.hexdigest()[:16]


def _np(x) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu()
        if x.dtype == torch.bfloat16:
            x = x.float()
        return x.numpy()
    return np.asarray(x)


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
        bar = tqdm(total=len(todo), desc='extracting features', unit='image',
                   disable=not progress, dynamic_ncols=True)
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
            bar.update(size)
            if on_batch is not None:
                on_batch(size)
        bar.close()
    model.train(was_training)
    return cache


@torch.no_grad()
def iter_cached_scores(cache: FeatureCache,
                       class_embeddings: torch.Tensor,
                       logit_scale: float,
                       score_mode: str = 'both',
                       chunk_size: int = 1024):
    """Yield ``(start, scores [n, C])`` chunks of :func:`cached_scores`
    (bounded memory: Open Images' 125,456 x 7,586 scores are 3.8 GB)."""
    if not cache.complete:
        raise ValueError(f'feature cache {cache.root!r} is incomplete '
                         f'({len(cache.missing())} rows missing); rerun the '
                         'extraction to resume it')
    if score_mode != 'global' and cache.dense_feats is None:
        raise ValueError(f'score_mode={score_mode!r} needs dense features; '
                         "extract with dense=True or use score_mode='global'")
    names = F.normalize(class_embeddings.detach().float().cpu(), dim=-1)
    if names.shape[-1] != cache.meta['embed_dim']:
        raise ValueError(f'class embeddings have dim {names.shape[-1]}, the '
                         f'cache {cache.meta["embed_dim"]}')
    for start in range(0, len(cache), chunk_size):
        stop = min(start + chunk_size, len(cache))
        glob = torch.from_numpy(np.array(
            cache.global_feats[start:stop], dtype=np.float32))
        glob_cos = F.normalize(glob, dim=-1) @ names.t()
        if score_mode == 'global':
            yield start, logit_scale * glob_cos
            continue
        dense = torch.from_numpy(np.array(
            cache.dense_feats[start:stop], dtype=np.float32))
        local = (F.normalize(dense, dim=-1) @ names.t()).transpose(1, 2)
        yield start, image_scores(local, glob_cos, logit_scale, score_mode)


@torch.no_grad()
def cached_scores(cache: FeatureCache,
                  class_embeddings: torch.Tensor,
                  logit_scale: float,
                  score_mode: str = 'both',
                  chunk_size: int = 1024) -> torch.Tensor:
    """Scores of all cached images against class embeddings.

    The same computation as :meth:`GranZSL.predict` without snippets:
    cosine of the normalised global feature (and of each dense position)
    with the normalised class embeddings, pooled by
    :func:`~granzsl_mm.models.tta.image_scores`. Computed in float32, in
    chunks of images (the cache stays memory-mapped).

    Args:
        cache (FeatureCache): A complete cache.
        class_embeddings (torch.Tensor): ``[C, D]`` (e.g.
            ``model.class_name_embeddings()[model.label_indices]``, or
            prompt embeddings of any vocabulary).
        logit_scale (float): ``s``.
        score_mode (str): ``'both'``, ``'global'`` or ``'local'``.
        chunk_size (int): Images per chunk.

    Returns:
        torch.Tensor: ``[N, C]`` float32 scores.
    """
    out = [s for _, s in iter_cached_scores(cache, class_embeddings,
                                            logit_scale, score_mode,
                                            chunk_size)]
    if not out:
        return torch.zeros(0, class_embeddings.shape[0])
    return torch.cat(out)


def evaluate_cached(cache: FeatureCache,
                    class_embeddings: torch.Tensor,
                    dataset_meta: dict,
                    metric: Optional[dict] = None,
                    *,
                    logit_scale: float,
                    score_mode: str = 'both') -> dict:
    """ZSL / GZSL metrics of a vocabulary scored from the cache.

    Args:
        cache (FeatureCache): A complete cache with ``gt_score``.
        class_embeddings (torch.Tensor): ``[C, D]`` embeddings of all
            classes of ``dataset_meta`` (seen then unseen).
        dataset_meta (dict): ``classes``, ``seen_classes``, ...
        metric (dict, optional): ``ZSLMultiLabelMetric`` config (defaults to
            ``dict(type='ZSLMultiLabelMetric')``); at Open Images scale
            ``dict(type='StreamingZSLMultiLabelMetric')`` (the scores are
            fed in chunks, with ``sample_idx``, never held whole).
        logit_scale (float): ``s`` (keyword-only).
        score_mode (str): ``'both'``, ``'global'`` or ``'local'``.

    Returns:
        dict: The metric's results (``zsl/mAP``, ``gzsl/F1@3``, ...).
    """
    from granzsl_mm.registry import METRICS
    if cache.gt_score is None:
        raise ValueError('the cache holds no gt_score; extract it from a '
                         'dataset with labels')
    evaluator = METRICS.build(metric or dict(type='ZSLMultiLabelMetric'))
    evaluator.dataset_meta = dataset_meta
    for start, scores in iter_cached_scores(cache, class_embeddings,
                                            logit_scale, score_mode):
        gt = torch.from_numpy(np.array(
            cache.gt_score[start:start + len(scores)]))
        evaluator.process(None, [
            dict(pred_score=s, gt_score=g, sample_idx=start + i)
            for i, (s, g) in enumerate(zip(scores, gt))])
    return evaluator.evaluate(len(cache))
