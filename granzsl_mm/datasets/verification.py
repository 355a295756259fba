"""Check a dataset on disk before a long run: every image decodes, and the
split files and counts are the published ones.

:func:`verify_dataset` takes a built dataset (:func:`build_unchecked` builds
one from a config without the readers' own image check, so that a missing
image is reported here instead of stopping the build) and returns one
:class:`CheckRow` per check:

* every listed image is decoded in full (:func:`~granzsl_mm.utils.image_io.
  verify_image`, with a progress bar); each missing or unreadable image is
  named;
* for the benchmarks of :data:`~granzsl_mm.datasets.published_values.
  BENCHMARKS` (COCO 48/17, NUS-WIDE 925/81, Open Images 7,186/400): the
  SHA-256 of each released split file found under the data root, the seen
  and unseen class counts, the image count of the image folder and the line
  counts of the official image lists, each against its published value and
  source;
* for a synthetic world (a ``world.json`` in the data root): the image and
  class counts against the generator's record.

:func:`format_table` prints the rows; :func:`has_differences` says whether
one differs (``tools/misc/verify_dataset.py`` exits 1 then).
"""
import hashlib
import json
import os
import os.path as osp
import re
from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

from .published_values import BENCHMARKS, Benchmark

__all__ = ['CheckRow', 'OK', 'DIFFERS', 'NOT_CHECKED', 'INFO',
           'benchmark_key', 'build_unchecked', 'sha256_of', 'decode_images',
           'verify_dataset', 'format_table', 'has_differences']

OK, DIFFERS, NOT_CHECKED, INFO = 'ok', 'DIFFERS', 'not checked', 'info'
# bad images named one by one in the table; the rest are counted
MAX_NAMED_IMAGES = 50
_WORLD_SOURCE = "world.json (the generator's record)"


@dataclass
class CheckRow:
    """One check: what, the expected and found values, the status and the
    source of the expected value."""

    check: str
    expected: str
    found: str
    status: str
    source: str = ''


def benchmark_key(dataset) -> Optional[str]:
    """The key of :data:`BENCHMARKS` a dataset reads, or None."""
    from .zsl import COCOZSLDataset, NUSWideZSLDataset, OpenImagesZSLDataset
    for cls, key in ((COCOZSLDataset, 'coco_48_17'),
                     (NUSWideZSLDataset, 'nuswide_925_81'),
                     (OpenImagesZSLDataset, 'openimages_7186_400')):
        if isinstance(dataset, cls):
            return key
    return None


def build_unchecked(dataset_cfg: dict):
    """Build a dataset from its config without the readers' own image
    check (``check_images='none'`` where the reader has the option): the
    images are checked by :func:`verify_dataset`, which names every bad
    one.

    Args:
        dataset_cfg (dict): The dataset's config (``type`` and options).

    Returns:
        The built dataset.
    """
    import inspect

    from granzsl_mm.registry import DATASETS
    cfg = dict(dataset_cfg)
    cls = DATASETS.get(cfg['type']) if isinstance(cfg['type'], str) \
        else cfg['type']
    if cls is not None and any(
            'check_images' in inspect.signature(k.__init__).parameters
            for k in inspect.getmro(cls) if '__init__' in vars(k)):
        cfg['check_images'] = 'none'
    return DATASETS.build(cfg)


def sha256_of(path: str) -> str:
    """SHA-256 hex digest of a file (read in chunks)."""
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(1 << 20), b''):
            digest.update(block)
    return digest.hexdigest()


def decode_images(paths: Sequence[str],
                  progress: bool = True) -> List[Tuple[str, str]]:
    """Decode every image in full; the bad ones.

    Args:
        paths (Sequence[str]): Image files.
        progress (bool): Show a tqdm progress bar (on stderr).

    Returns:
        list[tuple[str, str]]: ``(path, reason)`` of each missing or
        unreadable image, in input order.
    """
    from tqdm import tqdm

    from granzsl_mm.utils.image_io import verify_image
    bad = []
    for path in tqdm(paths, desc='decoding images', unit='img',
                     disable=not progress, dynamic_ncols=True):
        if not osp.isfile(path):
            bad.append((path, 'missing'))
            continue
        try:
            verify_image(path)
        except Exception as e:  # decoders raise many types for bad files
            bad.append((path, f'unreadable ({type(e).__name__}: {e})'))
    return bad


def _image_paths(dataset) -> List[str]:
    paths = []
    for i in range(len(dataset)):
        path = dataset.get_data_info(i).get('img_path')
        if path:
            paths.append(str(path))
    return paths


def _count(expected: int, found: int, what: str, source: str) -> CheckRow:
    return CheckRow(what, f'{expected:,}', f'{found:,}',
                    OK if expected == found else DIFFERS, source)


def _image_folder(dataset) -> Optional[str]:
    # mmengine's BaseDataset has joined the data root to it already
    prefix = (getattr(dataset, 'data_prefix', None) or {}).get('img_path')
    return prefix or None


def _files_in(folder: str, prefix: str = '') -> int:
    with os.scandir(folder) as it:
        return sum(1 for e in it if e.is_file() and e.name.startswith(prefix))


def _locate(dataset, key: str, name: str) -> Optional[str]:
    """The file ``name`` of a benchmark under the dataset's data root."""
    root = getattr(dataset, 'data_root', '') or ''
    if key == 'nuswide_925_81':
        from .zsl.nuswide_metadata import find_metadata_file
        finder = find_metadata_file
    elif key == 'openimages_7186_400':
        from .zsl.openimages_files import find_openimages_file
        finder = find_openimages_file
    else:
        def finder(root, name):
            for used in (getattr(dataset, 'split_file', None),
                         getattr(dataset, 'ann_file', None)):
                if used and osp.basename(str(used)) == name \
                        and osp.isfile(used):
                    return str(used)
            for path in (osp.join(root, name),
                         osp.join(root, 'annotations', name)):
                if osp.isfile(path):
                    return path
            raise FileNotFoundError(name)
    try:
        return finder(root, name)
    except FileNotFoundError:
        return None


def _benchmark_rows(dataset, key: str, bench: Benchmark) -> List[CheckRow]:
    rows = [CheckRow('benchmark', bench.title, type(dataset).__name__, INFO)]
    for f in bench.files:
        path = _locate(dataset, key, f.name)
        if path is None:
            rows.append(CheckRow(f'sha256 {f.name}',
                                 f.sha256[:16] + '...' if f.sha256 else '-',
                                 'absent', NOT_CHECKED,
                                 f.source + ('' if f.sha256 else
                                             f'; {f.note}')))
            continue
        digest = sha256_of(path)
        if f.sha256 is None:
            rows.append(CheckRow(f'sha256 {f.name}', '-', digest[:16] + '...',
                                 NOT_CHECKED, f'{f.source}; {f.note}'))
            continue
        same = digest == f.sha256
        # a differing digest in full: the user compares it with others'
        rows.append(CheckRow(
            f'sha256 {f.name}', f.sha256[:16] + '...',
            digest[:16] + '...' if same else digest, OK if same else DIFFERS,
            f.source))
    seen = getattr(dataset, 'all_seen_classes', None)
    unseen = getattr(dataset, 'all_unseen_classes', None)
    if seen is not None:
        rows.append(_count(bench.seen.value, len(seen), 'seen classes',
                           bench.seen.source))
    if unseen is not None:
        published = bench.unseen
        if getattr(dataset, 'unseen', None) == 'all' and bench.unseen_all:
            published = bench.unseen_all
        rows.append(_count(published.value, len(unseen), 'unseen classes',
                           published.source))
    folder = _image_folder(dataset)
    if folder is not None:
        name = osp.basename(osp.normpath(folder))
        if name in bench.image_folders and osp.isdir(folder):
            published = bench.image_folders[name]
            rows.append(_count(published.value, _files_in(folder),
                               f'files in {name}/', published.source))
    for name, published in bench.list_files.items():
        path = _locate(dataset, key, name)
        if path is None:
            continue
        from .zsl.nuswide_metadata import read_lines
        rows.append(_count(published.value, len(read_lines(path)),
                           f'lines of {name}', published.source))
    return rows


def _world_rows(dataset, meta: dict) -> List[CheckRow]:
    rows = [CheckRow('benchmark', 'synthetic world',
                     f"{meta.get('build', {}).get('format', '?')}", INFO,
                     _WORLD_SOURCE)]
    seen = getattr(dataset, 'all_seen_classes', None)
    unseen = getattr(dataset, 'all_unseen_classes', None)
    if seen is not None:
        rows.append(_count(len(meta['seen_classes']), len(seen),
                           'seen classes', _WORLD_SOURCE))
    if unseen is not None:
        rows.append(_count(len(meta['unseen_classes']), len(unseen),
                           'unseen classes', _WORLD_SOURCE))
    match = re.match(r'instances_(\w+)\.json$',
                     osp.basename(str(getattr(dataset, 'ann_file', ''))))
    split = match.group(1) if match else None
    counts = meta.get('counts', {}).get(split) if split else None
    if counts is not None:
        rows.append(_count(counts['images'], len(dataset),
                           f'{split} images listed', _WORLD_SOURCE))
        folder = _image_folder(dataset)
        if folder is not None and osp.isdir(folder):
            rows.append(_count(counts['images'],
                               _files_in(folder, f'{split}_'),
                               f'{split}_* files in '
                               f'{osp.basename(osp.normpath(folder))}/',
                               _WORLD_SOURCE))
    return rows


def verify_dataset(dataset, decode: bool = True,
                   progress: bool = True) -> List[CheckRow]:
    """Check a built dataset (see the module docstring).

    Args:
        dataset: A built dataset (:func:`build_unchecked`).
        decode (bool): Decode every image (else only their presence).
        progress (bool): Show a progress bar while decoding.

    Returns:
        list[CheckRow]: The checks, in table order.
    """
    root = getattr(dataset, 'data_root', '') or ''
    world = osp.join(root, 'world.json')
    key = benchmark_key(dataset)
    if osp.isfile(world):
        with open(world, encoding='utf-8') as f:
            rows = _world_rows(dataset, json.load(f))
    elif key is not None:
        rows = _benchmark_rows(dataset, key, BENCHMARKS[key])
    else:
        rows = [CheckRow('benchmark', '-', type(dataset).__name__,
                         NOT_CHECKED, 'no published values for this reader: '
                         'only its images are checked')]
    paths = _image_paths(dataset)
    if not osp.isfile(world):  # a world's rows count its items already
        rows.append(CheckRow('items', '-', f'{len(dataset):,}', INFO,
                             'the dataset as configured'))
    if not paths:
        rows.append(CheckRow('images', '-', 'none listed', INFO,
                             'a text-only dataset (class descriptions)'))
        return rows
    if decode:
        bad = decode_images(paths, progress)
    else:
        bad = [(p, 'missing') for p in paths if not osp.isfile(p)]
    what = 'images decoded' if decode else 'images present'
    rows.append(CheckRow(what, f'{len(paths):,}', f'{len(paths) - len(bad):,}',
                         DIFFERS if bad else OK, 'every image listed'))
    for path, reason in bad[:MAX_NAMED_IMAGES]:
        rows.append(CheckRow(f'image {path}', 'readable', reason, DIFFERS))
    if len(bad) > MAX_NAMED_IMAGES:
        rows.append(CheckRow(f'... {len(bad) - MAX_NAMED_IMAGES} more bad '
                             'images', 'readable', 'not listed', DIFFERS))
    return rows


def has_differences(rows: Sequence[CheckRow]) -> bool:
    """Whether a check differs from its expected value."""
    return any(r.status == DIFFERS for r in rows)


def format_table(rows: Sequence[CheckRow]) -> str:
    """A plain-text table (status, check, expected, found, source number)
    and the numbered sources under it.

    Args:
        rows (Sequence[CheckRow]): The checks.

    Returns:
        str: The table.
    """
    sources: List[str] = []
    refs = []
    for r in rows:
        if r.source and r.source not in sources:
            sources.append(r.source)
        refs.append(f'[{sources.index(r.source) + 1}]' if r.source else '')
    head = ('status', 'check', 'expected', 'found', 'src')
    cells = [head] + [(r.status, r.check, r.expected, r.found, ref)
                      for r, ref in zip(rows, refs)]
    widths = [min(max(len(c[i]) for c in cells), 70) for i in range(5)]
    lines = []
    for n, cell in enumerate(cells):
        lines.append('  '.join(str(v).ljust(w) for v, w in
                               zip(cell, widths)).rstrip())
        if n == 0:
            lines.append('  '.join('-' * w for w in widths))
    lines.append('')
    lines += [f'[{i}] {s}' for i, s in enumerate(sources, 1)]
    differing = sum(r.status == DIFFERS for r in rows)
    lines += ['', f'{differing} check(s) differ' if differing else
              'everything checked matches']
    return '\n'.join(lines)
