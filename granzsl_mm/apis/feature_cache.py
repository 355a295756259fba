"""Frozen-backbone feature cache: extract once, score any vocabulary later.

GranZSL (and any method with a frozen image tower) scores images as cosines
between fixed image features and class embeddings. Caching the image side
turns a validation pass into a few matrix products: per-epoch validation in
seconds instead of re-running the image tower, and any learned class names
or vocabulary can be scored from the same cache.

Layout of a cache directory (NumPy ``.npy`` files, opened memory-mapped)::

    meta.json        num_images, embed_dim, dense (positions or null), dtypes,
                     the identity (below) and the run id; written last
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
on the missing rows only), and scoring a vocabulary from it with no image
tower at all (:func:`cached_scores`, :func:`evaluate_cached`: cosines pooled
like :meth:`GranZSL.predict` without snippets; the logit scale is a
required argument, GranZSL's configs use 20).

The cache is the door for its folder: before a folder is reused its
identity is checked, and its entries before they are scored.

* **Identity** (:func:`cache_identity`, in meta.json with a run id):
  SHA-1 of every backbone weight; the dataset — its length, SHA-256 of its
  annotation files (``ann_file`` and every other ``*_file``), of its class
  list, of its image list and of its labels (each item's record), and of
  its first and last items as loaded; the preprocessing (the pipeline and
  the data preprocessor); the views (input size, dense mode); the layout
  (sizes, dtypes). Extracting into a folder of another identity — dataset
  B into A's folder, other weights, a killed run of another dataset — is
  refused naming the folder and what differs (:class:`FeatureCacheError`);
  ``overwrite=True`` (``extract_features.py --overwrite``) recomputes it.
  The same identity resumes the missing rows.
* **Partial files**: meta.json is written last (atomically) and each row's
  ``done`` flag after the row; a folder without meta.json is no cache, and
  rows without their flag are never scored (an incomplete cache is
  refused).
* **Entries**: the files' shapes and dtypes are checked against meta.json
  when the cache is opened; every scored row must be finite and not all
  zero; :func:`evaluate_cached` refuses a class list other than the one the
  labels were stored with.
"""
import hashlib
import json
import os
import os.path as osp
import re
import uuid
from typing import Callable, Iterable, List, Optional, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from granzsl_mm.models.text.text_feature_cache import hash_module_weights
from granzsl_mm.models.tta.snippets import image_scores
from granzsl_mm.utils.atomic_io import atomic_write_text

__all__ = ['FeatureCache', 'FeatureCacheError', 'backbone_fingerprint',
           'dataset_fingerprint', 'cache_identity', 'cache_bytes_per_image',
           'describe_cache_size', 'extract_features', 'cached_scores',
           'iter_cached_scores', 'evaluate_cached']


_DTYPES = {'fp32': np.float32, 'fp16': np.float16}
_FILES = ('global.npy', 'dense.npy', 'gt_score.npy', 'done.npy')
_FIX = ('recompute it with overwrite=True (tools/extract_features.py '
        '--overwrite) or use another folder')
# what each part of the identity is called in a message
_PARTS = {'backbone': 'backbone weights', 'dataset': 'dataset',
          'preprocessing': 'preprocessing', 'views': 'views'}


class FeatureCacheError(ValueError):
    """A feature cache folder that cannot be used as asked: made by another
    extraction (weights, dataset, preprocessing, views or layout), or with
    files or entries that are not what its meta.json says."""


def _hash_value(digest, value) -> None:
    """Feed a canonical form of ``value`` to ``digest`` (arrays by dtype,
    shape and bytes; containers element by element; no object addresses)."""
    if isinstance(value, torch.Tensor):
        value = _np(value)
    if isinstance(value, np.ndarray):
        value = np.ascontiguousarray(value)
        digest.update(f'a{value.dtype.str}{value.shape}'.encode())
        digest.update(value.tobytes())
    elif isinstance(value, dict):
        digest.update(b'{')
        for key in sorted(value, key=str):
            _hash_value(digest, str(key))
            _hash_value(digest, value[key])
        digest.update(b'}')
    elif isinstance(value, (list, tuple)):
        digest.update(b'[')
        for item in value:
            _hash_value(digest, item)
        digest.update(b']')
    elif value is None or isinstance(value, (str, int, float, bool,
                                             np.generic)):
        digest.update(f'{type(value).__name__}:{value!r};'.encode())
    else:
        digest.update(type(value).__name__.encode())


def _sha256(value) -> str:
    digest = hashlib.sha256()
    _hash_value(digest, value)
    return digest.hexdigest()


def _sha256_file(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(1 << 22), b''):
            digest.update(block)
    return digest.hexdigest()


def _class_list(meta: dict) -> Optional[str]:
    """SHA-256 of a dataset's class list (all, then the seen ones)."""
    if not meta or meta.get('classes') is None:
        return None
    return _sha256([list(meta['classes']),
                    list(meta.get('seen_classes') or [])])


def _item(item) -> str:
    """SHA-256 of an item as the dataset gives it (inputs and labels)."""
    sample = item.get('data_samples') if isinstance(item, dict) else None
    return _sha256([item.get('inputs') if isinstance(item, dict) else item,
                    getattr(sample, 'gt_score', None)])


def dataset_fingerprint(dataset: torch.utils.data.Dataset,
                        items: Iterable = ()) -> dict:
    """What identifies a dataset's images and labels.

    Args:
        dataset (Dataset): An mmengine dataset (annotation files, class
            list, image list and labels are read from it) or any dataset
            (its type, length and ``items`` only).
        items (Iterable): Items as loaded (the first and the last): their
            inputs and labels are hashed too.

    Returns:
        dict: ``type``, ``length``, ``annotation_files`` (attribute ->
        SHA-256), ``classes``, ``images``, ``labels`` and ``items``
        (SHA-256 hex digests; None where the dataset does not say).
    """
    attrs = getattr(dataset, '__dict__', {})
    files = {name: _sha256_file(value)
             for name, value in sorted(attrs.items())
             if (name == 'ann_file' or name.endswith('_file'))
             and isinstance(value, str) and osp.isfile(value)}
    images = labels = None
    if hasattr(dataset, 'get_data_info'):
        root = str(getattr(dataset, 'data_root', '') or '')
        img_digest, label_digest = hashlib.sha256(), hashlib.sha256()
        for i in range(len(dataset)):
            info = dict(dataset.get_data_info(i))
            path = str(info.pop('img_path', ''))
            info.pop('sample_idx', None)
            # relative to the data root: the same data moved is the same
            if root and path.startswith(root):
                path = osp.relpath(path, root)
            _hash_value(img_digest, path)
            _hash_value(label_digest, info)
        images, labels = img_digest.hexdigest(), label_digest.hexdigest()
    return dict(type=type(dataset).__name__, length=len(dataset),
                annotation_files=files,
                classes=_class_list(getattr(dataset, 'metainfo', None)),
                images=images, labels=labels,
                items=[_item(item) for item in items])


def _preprocessing(model: torch.nn.Module,
                   dataset: torch.utils.data.Dataset) -> str:
    """SHA-256 of the dataset's pipeline and the model's data
    preprocessor (type, mean / std, channel order)."""
    pipeline = getattr(dataset, 'pipeline', None)
    text = re.sub(r' at 0x[0-9a-fA-F]+', '', repr(pipeline))
    prep = getattr(model, 'data_preprocessor', None)
    # buffers, not state_dict(): mmengine's mean / std are not persistent
    state = {} if prep is None else dict(prep.named_buffers())
    return _sha256([text, type(prep).__name__, state,
                    repr(getattr(prep, '_channel_conversion', None))])


def cache_identity(model: torch.nn.Module,
                   dataset: torch.utils.data.Dataset,
                   input_shape: Sequence[int]) -> dict:
    """What a cache of ``model``'s features of ``dataset`` is made of.

    Args:
        model (nn.Module): Has ``backbone`` (and ``data_preprocessor``).
        dataset (Dataset): The encoded dataset.
        input_shape (Sequence[int]): One preprocessed input's shape.

    Returns:
        dict: ``backbone`` (:func:`backbone_fingerprint`), ``dataset``
        (:func:`dataset_fingerprint` with its first and last items),
        ``preprocessing`` and ``views`` (input shape, dense mode).
    """
    ends = [0] if len(dataset) == 1 else [0, len(dataset) - 1]
    return dict(
        backbone=backbone_fingerprint(model.backbone),
        dataset=dataset_fingerprint(dataset, (dataset[i] for i in ends)),
        preprocessing=_preprocessing(model, dataset),
        views=dict(input_shape=[int(n) for n in input_shape],
                   dense_mode=getattr(model.backbone, 'dense_mode', None)))


def _differences(old, new, prefix: str = '') -> List[str]:
    """Dotted keys where two identities differ."""
    if isinstance(old, dict) and isinstance(new, dict):
        return [d for key in sorted(set(old) | set(new), key=str)
                for d in _differences(old.get(key), new.get(key),
                                      f'{prefix}{key}.')]
    return [] if old == new else [prefix.rstrip('.')]


def _short(value) -> str:
    """A value of an identity in a message (hex digests cut to 12)."""
    if isinstance(value, list):
        return '[' + ', '.join(_short(v) for v in value) + ']'
    text = value if isinstance(value, str) else json.dumps(value)
    return text if len(text) <= 20 else text[:12] + '...'


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
                                    '(meta.json missing: never made, or its '
                                    'extraction was killed while creating '
                                    'it)')
        self.root = root
        try:
            with open(meta_path, encoding='utf-8') as f:
                self.meta = json.load(f)
            files = self._expected_files()
        except (ValueError, KeyError, TypeError) as err:
            raise FeatureCacheError(
                f'feature cache {root}: meta.json is not a cache '
                f'description ({err}); {_FIX}') from None
        arrays = {}
        for name, (shape, dtype) in files.items():
            path = osp.join(root, name)
            try:
                arrays[name] = np.load(path, mmap_mode=mode)
            except (OSError, ValueError) as err:
                raise FeatureCacheError(
                    f'feature cache {root}: {name} cannot be read ({err}); '
                    f'{_FIX}') from None
            got = arrays[name]
            if got.shape != shape or got.dtype != dtype:
                raise FeatureCacheError(
                    f'feature cache {root}: {name} holds {got.shape} '
                    f'{got.dtype}, meta.json says {shape} {np.dtype(dtype)} '
                    f'(the file was changed or replaced); {_FIX}')
        self.global_feats = arrays['global.npy']
        self.done = arrays['done.npy']
        self.dense_feats = arrays.get('dense.npy')
        self.gt_score = arrays.get('gt_score.npy')

    def _expected_files(self) -> dict:
        """File name -> (shape, dtype) as meta.json describes them."""
        m = self.meta
        num, dim = int(m['num_images']), int(m['embed_dim'])
        files = {'global.npy': ((num, dim), _DTYPES[m['global_dtype']]),
                 'done.npy': ((num, ), np.uint8)}
        if m['dense_positions'] is not None:
            files['dense.npy'] = ((num, int(m['dense_positions']), dim),
                                  _DTYPES[m['dense_dtype']])
        if m['num_classes'] is not None:
            files['gt_score.npy'] = ((num, int(m['num_classes'])), np.int8)
        return files

    @classmethod
    def create(cls, root: str, num_images: int, embed_dim: int,
               dense_positions: Optional[int] = None,
               num_classes: Optional[int] = None,
               global_dtype: str = 'fp32', dense_dtype: str = 'fp16',
               identity: Optional[dict] = None,
               info: Optional[dict] = None,
               overwrite: bool = False) -> 'FeatureCache':
        """Create (or reopen, if of the same layout and identity) a
        writable cache.

        Args:
            root (str): Directory to create.
            num_images (int): ``N``.
            embed_dim (int): ``D``.
            dense_positions (int, optional): ``P``; ``None``: no dense file.
            num_classes (int, optional): ``C`` of ``gt_score``.
            global_dtype (str): ``'fp32'`` or ``'fp16'``.
            dense_dtype (str): ``'fp16'`` (default) or ``'fp32'``.
            identity (dict, optional): What makes the features
                (:func:`cache_identity`); reopening a cache of another
                identity is refused.
            info (dict, optional): Extra provenance stored in meta.json
                (e.g. the config and architecture).
            overwrite (bool): Remove an existing cache in ``root`` and
                start again.

        Returns:
            FeatureCache: Opened in ``'r+'`` mode.

        Raises:
            FeatureCacheError: An existing cache of another layout or
                identity (without ``overwrite``), or damaged files.
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
                    global_dtype=global_dtype, dense_dtype=dense_dtype)
        meta_path = osp.join(root, 'meta.json')
        if overwrite:
            # meta.json first: the folder is no cache until made again
            for name in ('meta.json', ) + _FILES:
                if osp.exists(osp.join(root, name)):
                    os.remove(osp.join(root, name))
        if osp.exists(meta_path):
            cls._check_reuse(root, meta, identity or {})
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
        meta.update(identity=identity or {}, run_id=uuid.uuid4().hex)
        # written last, atomically: marks a complete layout
        atomic_write_text(json.dumps(meta, indent=1), meta_path)
        return cls(root, mode='r+')

    @staticmethod
    def _check_reuse(root: str, layout: dict, identity: dict) -> None:
        """Refuse to reuse ``root`` unless its layout and identity are
        these."""
        try:
            with open(osp.join(root, 'meta.json'), encoding='utf-8') as f:
                old = json.load(f)
        except (OSError, ValueError) as err:
            raise FeatureCacheError(f'feature cache {root}: meta.json cannot '
                                    f'be read ({err}); {_FIX}') from None
        if not isinstance(old, dict):
            old = {}
        was = {k: old.get(k) for k in layout}
        if was != layout:
            raise FeatureCacheError(
                f'feature cache {root} has layout {was}, requested {layout} '
                f'(other shapes or dtypes); {_FIX}')
        if 'identity' not in old:
            raise FeatureCacheError(
                f'feature cache {root} records no identity (made before '
                f'caches recorded the weights and dataset behind them); '
                f'{_FIX}')
        diffs = _differences(old['identity'], identity)
        if diffs:
            parts = sorted({_PARTS.get(d.split('.')[0], d.split('.')[0])
                            for d in diffs})
            detail = '; '.join(
                f'{d}: {_short(_lookup(old["identity"], d))} here, '
                f'{_short(_lookup(identity, d))} now' for d in diffs[:4])
            raise FeatureCacheError(
                f'feature cache {root} was made by another extraction (run '
                f'{old.get("run_id")}): other {", ".join(parts)} ({detail}); '
                f'{_FIX}')

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
        for feats in (global_feats, dense_feats):
            if feats is not None and not bool(torch.isfinite(
                    torch.as_tensor(feats)).all()):
                raise ValueError(
                    f'the backbone gave non-finite features (NaN or inf) '
                    f'for dataset rows {idx.tolist()[:8]}: not cached (NaN '
                    'weights, or an overflow in fp16?)')
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
    """SHA-1 of every floating-point weight of a module (names, shapes,
    dtypes and bytes).

    Args:
        module (nn.Module): E.g. the frozen backbone.

    Returns:
        str: 16 hex digits; equal weights give equal fingerprints.
    """
    state = [(name, p) for name, p in module.state_dict().items()
             if torch.is_tensor(p) and p.is_floating_point()]
    return hash_module_weights([p for _, p in state],
                               extra=' '.join(name for name, _ in state))


def _lookup(tree: dict, dotted: str):
    for key in dotted.split('.'):
        tree = tree.get(key) if isinstance(tree, dict) else None
    return tree


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
                     on_batch: Optional[Callable[[int], None]] = None,
                     overwrite: bool = False) -> FeatureCache:
    """Encode a dataset with a model's frozen backbone into a cache.

    Resumable: rows already marked done in ``out_dir`` are skipped, so an
    interrupted run continues where it stopped — only a run of the same
    identity (:func:`cache_identity`): a folder made from other weights,
    another dataset or other preprocessing is refused (or, with
    ``overwrite``, made again).

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
        overwrite (bool): Remove a cache already in ``out_dir`` and start
            again.

    Returns:
        FeatureCache: The (complete) cache, writable.

    Raises:
        FeatureCacheError: ``out_dir`` holds a cache of another layout or
            identity (without ``overwrite``), or damaged files.
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
        identity=cache_identity(model, dataset, probe['inputs'].shape[1:]),
        info=info, overwrite=overwrite)
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


def _checked_rows(cache: FeatureCache, name: str, rows: np.ndarray,
                  start: int) -> np.ndarray:
    """Rows of a feature file as float32, refused unless finite and not
    all zero (a feature the backbone cannot give: a row never written, or
    planted)."""
    rows = np.array(rows, dtype=np.float32)
    flat = rows.reshape(len(rows), -1, rows.shape[-1])
    for bad, what in ((~np.isfinite(flat).all(axis=(1, 2)),
                       'is not finite (NaN or inf)'),
                      (~np.abs(flat).max(axis=2).all(axis=1),
                       'is all zero' if flat.shape[1] == 1 else
                       'has an all-zero position')):
        if bad.any():
            rows_bad = (np.flatnonzero(bad) + start).tolist()
            raise FeatureCacheError(
                f'feature cache {cache.root}: {name} row {rows_bad[0]} '
                f'{what} ({len(rows_bad)} of rows {start}:'
                f'{start + len(rows)}); the cache was changed after its '
                f'extraction: {_FIX}')
    return rows


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
        glob = torch.from_numpy(_checked_rows(
            cache, 'global.npy', cache.global_feats[start:stop], start))
        glob_cos = F.normalize(glob, dim=-1) @ names.t()
        if score_mode == 'global':
            yield start, logit_scale * glob_cos
            continue
        dense = torch.from_numpy(_checked_rows(
            cache, 'dense.npy', cache.dense_feats[start:stop], start))
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
    stored = cache.meta.get('identity', {}).get('dataset', {}).get(
        'classes')
    if len(dataset_meta['classes']) != cache.gt_score.shape[1] or (
            stored is not None and stored != _class_list(dataset_meta)):
        raise FeatureCacheError(
            f'feature cache {cache.root} holds the labels of another class '
            f'list ({cache.gt_score.shape[1]} classes, SHA-256 '
            f'{_short(stored)}) than dataset_meta ('
            f'{len(dataset_meta["classes"])} classes, '
            f'{_short(_class_list(dataset_meta))}): score it with the '
            'dataset it was extracted from, or extract this one into '
            'another folder')
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
