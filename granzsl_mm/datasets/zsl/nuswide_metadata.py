"""Readers of the official NUS-WIDE metadata and the papers' label pickles.

Official files (CRLF line endings; found under ``root`` in their official
sub-folders or directly in ``root``):

* ``ImageList/Imagelist.txt``: all 269,648 images, one Windows path per line
  (``C:\\ImageData\\Flickr\\actor\\0001_2124494179.jpg``); the row order of
  every label matrix.
* ``ImageList/TrainImagelist.txt`` / ``TestImagelist.txt``: the official
  161,789 / 107,859 split (``actor\\0001_2124494179.jpg``).
* ``NUS_WID_Tags/TagList1k.txt``: the 1000 tags; ``NUS_WID_Tags/AllTags1k.txt``:
  one row of 1000 whitespace-separated 0/1 per image.
* ``ConceptsList/Concepts81.txt``: the 81 concepts;
  ``Groundtruth/AllLabels/Labels_<concept>.txt``: one 0/1 per image.

Zero-shot split (LESA / BiAM / GranZSL): seen = the tags of ``TagList1k``
that are not concepts (925 of 1000: 75 tags are also concepts), unseen = the
81 concepts; label order seen (``TagList1k`` order) then unseen
(``Concepts81`` order).

The papers' pickles ``test_seen_labels.pkl`` / ``test_unseen_labels.pkl`` map
an image path to a signed vector (+1 / -1, 0 unknown): 1000 ``TagList1k``
slots (the 75 concept slots hold 0) and 81 concept slots.
"""
import os.path as osp
from typing import List, Optional, Sequence, Tuple

import numpy as np

from granzsl_mm.utils.label_matrix import signed_to_ours

__all__ = [
    'NUSWIDE_FILES', 'SPLIT_LISTS', 'find_metadata_file', 'read_lines',
    'image_key', 'read_split_rows', 'zsl_split_from_lists',
    'read_zsl_classes', 'read_binary_matrix', 'rows_to_positives',
    'read_concept_labels', 'read_label_pickle'
]

# file -> official sub-folders it may sit in (else directly in the root)
NUSWIDE_FILES = {
    'Imagelist.txt': ('ImageList', ),
    'TrainImagelist.txt': ('ImageList', ),
    'TestImagelist.txt': ('ImageList', ),
    'TagList1k.txt': ('NUS_WID_Tags', ),
    'AllTags1k.txt': ('NUS_WID_Tags', ),
    'Concepts81.txt': ('ConceptsList', ),
    'AllLabels': ('Groundtruth', ),
}
# split -> its official image list
SPLIT_LISTS = {'train': 'TrainImagelist.txt', 'test': 'TestImagelist.txt'}


def find_metadata_file(root: str, name: str) -> str:
    """Path of an official metadata file (or the ``AllLabels`` folder).

    Args:
        root (str): NUS-WIDE root.
        name (str): File name, e.g. ``'TagList1k.txt'``.

    Returns:
        str: The first existing candidate path.
    """
    candidates = [osp.join(root, sub, name)
                  for sub in NUSWIDE_FILES.get(name, ())] + [
                      osp.join(root, name)]
    for path in candidates:
        if osp.exists(path):
            return path
    raise FileNotFoundError(f'NUS-WIDE file {name} not found; looked for '
                            f'{candidates}')


def read_lines(path: str) -> List[str]:
    """Non-empty lines, stripped (CRLF or LF)."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'file not found: {path}')
    with open(path, encoding='utf-8', errors='replace') as f:
        return [line.strip() for line in f if line.strip()]


def image_key(path: str) -> str:
    """``folder/file.jpg`` of any NUS-WIDE image path (Windows or POSIX,
    with or without ``C:\\ImageData\\Flickr\\``)."""
    parts = [p for p in path.strip().replace('\\', '/').split('/') if p]
    return '/'.join(parts[-2:])


def read_split_rows(root: str,
                    split: str) -> Tuple[List[str], List[str], np.ndarray]:
    """The images of an official split and their rows in the label files.

    Args:
        root (str): NUS-WIDE root.
        split (str): ``'train'``, ``'test'`` or ``'all'``.

    Returns:
        tuple: ``all_keys`` (every image, ``Imagelist.txt`` order: the row
        order of the label files), ``keys`` (the split's images, in its
        list's order) and ``rows`` (int64, the row of each key).

    Raises:
        ValueError: The split list names images that ``Imagelist.txt``
            does not list.
    """
    all_keys = [image_key(p) for p in
                read_lines(find_metadata_file(root, 'Imagelist.txt'))]
    name = SPLIT_LISTS.get(split, 'Imagelist.txt')
    keys = all_keys if split == 'all' else [
        image_key(p) for p in read_lines(find_metadata_file(root, name))]
    row_of = {k: i for i, k in enumerate(all_keys)}
    unknown = [k for k in keys if k not in row_of]
    if unknown:
        raise ValueError(f'{len(unknown)} images of {name} are not in '
                         f'Imagelist.txt, e.g. {unknown[:5]}')
    rows = np.fromiter((row_of[k] for k in keys), np.int64, len(keys))
    return all_keys, keys, rows


def zsl_split_from_lists(tags: Sequence[str],
                         concepts: Sequence[str]) -> Tuple[List[str],
                                                           List[str]]:
    """Seen = tags that are not concepts; unseen = concepts."""
    concept_set = set(concepts)
    return [t for t in tags if t not in concept_set], list(concepts)


def read_zsl_classes(root: str) -> Tuple[List[str], List[str], List[str]]:
    """Tags (1000), seen (925) and unseen (81) class names from ``root``."""
    tags = read_lines(find_metadata_file(root, 'TagList1k.txt'))
    concepts = read_lines(find_metadata_file(root, 'Concepts81.txt'))
    seen, unseen = zsl_split_from_lists(tags, concepts)
    return tags, seen, unseen


def _digits(buf: bytes, path: str) -> np.ndarray:
    """The 0/1 values of a whitespace-separated single-digit text buffer."""
    arr = np.frombuffer(buf, dtype=np.uint8)
    is_val = (arr == 48) | (arr == 49)
    space = (arr == 32) | (arr == 9) | (arr == 10) | (arr == 13)
    if not np.all(is_val | space):
        bad = bytes(arr[~(is_val | space)][:10]).decode('latin-1')
        raise ValueError(f'{path}: expected 0/1 values separated by '
                         f'whitespace, found {bad!r}')
    if np.any(is_val[1:] & is_val[:-1]):
        raise ValueError(f'{path}: expected single-digit 0/1 values')
    return arr[is_val] - 48


_BINARY = np.zeros(256, bool)
_BINARY[[48, 49]] = True
_SPACE = np.zeros(256, bool)
_SPACE[[9, 10, 13, 32]] = True


def _fixed_width_matrix(buf: bytes, num_cols: int) -> Optional[np.ndarray]:
    """Fast path: every row is ``num_cols`` single digits, each followed by
    one separator byte, then the line ending (the official layout). Returns
    the matrix, or None when the buffer is laid out otherwise."""
    eol = buf.find(b'\n')
    if eol < 0:
        return None
    width = eol + 1
    if width - 2 * num_cols not in (0, 1, 2) or len(buf) % width:
        return None  # e.g. '0 1\n', '0 1\r\n', '0\t1\t\r\n' are fixed width
    arr = np.frombuffer(buf, dtype=np.uint8).reshape(-1, width)
    vals = arr[:, 0:2 * num_cols:2]
    if (not _BINARY[vals].all() or not _SPACE[arr[:, 1:2 * num_cols:2]].all()
            or not _SPACE[arr[:, 2 * num_cols:]].all()
            or not np.all(arr[:, -1] == 10)):
        return None
    return vals  # ASCII '0' / '1': the caller subtracts 48 after selecting


def read_binary_matrix(path: str, num_cols: int,
                       rows: Optional[Sequence[int]] = None,
                       cols: Optional[Sequence[int]] = None,
                       num_rows: Optional[int] = None,
                       chunk_bytes: int = 1 << 26) -> np.ndarray:
    """Read a 0/1 text matrix (``AllTags1k.txt``) fast, chunk by chunk.

    Only the requested rows and columns are kept while reading, so the full
    269,648 x 1000 matrix is never held in memory.

    Args:
        path (str): The file (one row per line).
        num_cols (int): Values per row.
        rows (Sequence[int], optional): Row indices to keep, in the order
            wanted (default: all).
        cols (Sequence[int], optional): Column indices to keep.
        num_rows (int, optional): Expected number of rows (checked).
        chunk_bytes (int): Bytes parsed at a time.

    Returns:
        np.ndarray: uint8 matrix ``len(rows) x len(cols)``.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'file not found: {path}')
    cols = None if cols is None else np.asarray(cols, dtype=np.int64)
    if rows is not None:
        rows = np.asarray(rows, dtype=np.int64)
        order = np.argsort(rows, kind='stable')
        sorted_rows = rows[order]
    parts, row0, tail = [], 0, b''
    with open(path, 'rb') as f:
        while True:
            block = f.read(chunk_bytes)
            buf = tail + block
            if block:
                cut = buf.rfind(b'\n') + 1
                buf, tail = buf[:cut], buf[cut:]
            mat, zero = _fixed_width_matrix(buf, num_cols), 48
            if mat is None:  # any other whitespace layout
                vals, zero = _digits(buf, path), 0
                if vals.size % num_cols:
                    raise ValueError(f'{path}: a row after row {row0} does '
                                     f'not have {num_cols} values')
                mat = vals.reshape(-1, num_cols)
            chunk_rows = len(mat)
            sel = slice(None)
            if rows is not None:
                lo, hi = np.searchsorted(sorted_rows, [row0, row0 + chunk_rows])
                sel = sorted_rows[lo:hi] - row0
            if cols is not None:
                sel = np.ix_(np.arange(chunk_rows)[sel], cols)
            parts.append(mat[sel] - zero)  # one gather, then 0 / 1
            row0 += chunk_rows
            if not block:
                break
    if num_rows is not None and row0 != num_rows:
        raise ValueError(f'{path} has {row0} rows, expected {num_rows} (one '
                         'per line of Imagelist.txt)')
    width = num_cols if cols is None else len(cols)
    out = np.concatenate(parts) if parts else np.zeros((0, width), np.uint8)
    if rows is None:
        return out
    if len(out) != len(rows):
        raise ValueError(f'{path} has {row0} rows; row indices up to '
                         f'{int(rows.max())} were requested')
    result = np.empty_like(out)
    result[order] = out
    return result


def rows_to_positives(mat: np.ndarray, offset: int = 0) -> List[List[int]]:
    """Column indices of the 1s of each row (plus ``offset``)."""
    if mat.shape[0] == 0:
        return []
    r, c = np.nonzero(mat)
    cols = (c + offset).tolist()
    ends = np.cumsum(np.bincount(r, minlength=mat.shape[0])).tolist()
    starts = [0] + ends[:-1]
    return [cols[a:b] for a, b in zip(starts, ends)]


def read_concept_labels(root: str, concepts: Sequence[str],
                        num_images: int) -> np.ndarray:
    """``num_images x len(concepts)`` 0/1 matrix from ``AllLabels``."""
    label_dir = find_metadata_file(root, 'AllLabels')
    out = np.zeros((num_images, len(concepts)), np.uint8)
    for k, concept in enumerate(concepts):
        path = osp.join(label_dir, f'Labels_{concept}.txt')
        if not osp.isfile(path):
            raise FileNotFoundError(f'label file of concept {concept!r} not '
                                    f'found: {path}')
        with open(path, 'rb') as f:
            vals = _digits(f.read(), path)
        if vals.size != num_images:
            raise ValueError(f'{path}: {vals.size} labels for {num_images} '
                             'images of Imagelist.txt')
        out[:, k] = vals
    return out


def read_label_pickle(path: str, num_slots: int,
                      keep: Optional[Sequence[int]] = None
                      ) -> Tuple[List[str], np.ndarray]:
    """A papers' label pickle as image keys and our labels.

    Args:
        path (str): ``test_seen_labels.pkl`` / ``test_unseen_labels.pkl``
            (dict image path -> signed vector).
        num_slots (int): Expected vector length (1000 or 81).
        keep (Sequence[int], optional): Slots to keep (the 925 seen tags).

    Returns:
        tuple[list[str], np.ndarray]: Keys normalised by :func:`image_key`
        (the pickle's order) and an int8 matrix in {1, 0, -1}.
    """
    from granzsl_mm.utils.safe_pickle import safe_pickle_load
    if not osp.isfile(path):
        raise FileNotFoundError(f'label pickle not found: {path}')
    # untrusted download: a restricted unpickler (no code runs; a file
    # asking for any other global is refused, naming it)
    data = safe_pickle_load(path)
    if not isinstance(data, dict):
        raise ValueError(f'{path}: expected a dict image path -> label '
                         f'vector, got {type(data).__name__}')
    keys = [image_key(str(key)) for key in data]
    try:  # fast path: equal-length numeric vectors
        mat = np.asarray(list(data.values()))
        if mat.dtype == object:
            mat = None
    except (ValueError, TypeError):
        mat = None
    if mat is None or mat.ndim != 2 or mat.shape[1] != num_slots:
        vecs = []
        for key, vec in data.items():
            vec = np.asarray(vec).reshape(-1)
            if vec.size != num_slots:
                raise ValueError(f'{path}: vector of {key!r} has {vec.size} '
                                 f'slots, expected {num_slots}')
            vecs.append(vec)
        mat = np.stack(vecs) if vecs else np.zeros((0, num_slots), np.int8)
    if keep is not None:
        mat = mat[:, np.asarray(keep, dtype=np.int64)]
    if mat.dtype.kind not in 'biuf':
        raise ValueError(f'{path}: label vectors must be numbers in '
                         f'{{+1, -1, 0}}, got dtype {mat.dtype}; re-download '
                         'the file or rebuild it with '
                         'tools/dataset_converters/nuswide_zsl.py')
    try:
        return keys, signed_to_ours(mat)
    except ValueError as e:
        raise ValueError(f'{path}: {e}; the papers\' label pickles hold '
                         'signed vectors (+1 positive, -1 negative, 0 '
                         'unknown): re-download the file or rebuild it '
                         'with tools/dataset_converters/nuswide_zsl.py') from e
