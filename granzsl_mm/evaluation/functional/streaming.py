"""Chunked ZSL / GZSL metrics over score files larger than memory.

The same numbers as :func:`multilabel_zsl_metrics` (same AP, tie and top-K
rules: the chunks call the same kernels), computed from two readers:

* ``read_rows(start, stop)`` -> ``(scores, targets)`` of images
  ``start:stop`` (all classes): top-K, image filter, P/R/F1, per row chunk;
* ``read_cols(start, stop)`` -> ``(scores, targets)`` of classes
  ``start:stop`` as ``[classes, images]``: per-class AP, per column chunk.

Memory is bounded by one chunk. The helpers at the end read and write
``.npy`` files by byte offset (positioned I/O, no memory map held open, so
the pages stay in the page cache and out of the process' resident set).
NumPy and torch only.
"""
import os
from typing import Callable, Dict, Optional, Sequence, Tuple

import numpy as np

from .multilabel_ap import per_class_ap, topk_hits, validate_scores_targets

__all__ = ['stream_zsl_metrics', 'npy_data_offset', 'create_npy',
           'write_npy_rows', 'read_npy_rows', 'transpose_npy']

Reader = Callable[[int, int], Tuple[np.ndarray, np.ndarray]]


def stream_zsl_metrics(read_rows: Reader, read_cols: Reader, num_rows: int,
                       columns: Tuple[int, int],
                       topk: Sequence[int] = (3, 5),
                       empty_class: str = 'zero',
                       drop_empty_images: bool = False,
                       chunk_rows: int = 4096, chunk_cols: int = 64,
                       return_per_class: bool = False) -> Dict:
    """:func:`multilabel_zsl_metrics` of the classes ``columns`` in chunks.

    Args:
        read_rows: Row reader (see the module docstring).
        read_cols: Column reader (class-major).
        num_rows: Number of images.
        columns: ``(start, stop)`` class range of the label set.
        topk: The K values.
        empty_class: ``'zero'`` or ``'skip'``.
        drop_empty_images: Drop images without a positive in ``columns``.
        chunk_rows: Images per row chunk.
        chunk_cols: Classes per column chunk.
        return_per_class: Also return ``'per_class_AP'``.

    Returns:
        dict: The keys of :func:`multilabel_zsl_metrics`.
    """
    if empty_class not in ('zero', 'skip'):
        raise ValueError(f"empty_class must be 'zero' or 'skip', got "
                         f'{empty_class!r}')
    c0, c1 = columns
    ks = list(topk)
    keep = np.ones(num_rows, dtype=bool)
    tp = np.zeros(len(ks), np.int64)
    img_p = np.zeros(len(ks))
    img_r = np.zeros(len(ks))
    n_gt = n_has = 0
    for r0 in range(0, num_rows, chunk_rows):
        r1 = min(r0 + chunk_rows, num_rows)
        s, t = read_rows(r0, r1)
        s, t = validate_scores_targets(s[:, c0:c1], t[:, c0:c1])
        pos = t == 1
        n_pos = pos.sum(axis=1)
        if drop_empty_images:
            keep[r0:r1] = n_pos > 0
            s, pos, n_pos = s[keep[r0:r1]], pos[keep[r0:r1]], \
                n_pos[keep[r0:r1]]
        hits = topk_hits(s, pos, ks)
        has = n_pos > 0
        n_gt += int(n_pos.sum())
        n_has += int(has.sum())
        tp += hits.sum(axis=1)
        for i, k in enumerate(ks):
            img_p[i] += float((hits[i] / k).sum())
            img_r[i] += float((hits[i][has] / n_pos[has]).sum())
    num = int(keep.sum())
    ap = np.full(c1 - c0, np.nan)
    for a in range(c0, c1, chunk_cols):
        b = min(a + chunk_cols, c1)
        s, t = read_cols(a, b)
        if drop_empty_images:
            s, t = s[:, keep], t[:, keep]
        ap[a - c0:b - c0] = per_class_ap(s.T, t.T, num_threads=1)
    empty = np.isnan(ap)
    if empty_class == 'zero':
        mean_ap = float(np.nan_to_num(ap, nan=0.0).mean()) if ap.size else 0.0
    else:
        mean_ap = float(ap[~empty].mean()) if (~empty).any() else 0.0
    out = {'mAP': 100.0 * mean_ap}
    for i, k in enumerate(ks):
        prec = int(tp[i]) / (num * k) if num else 0.0
        rec = int(tp[i]) / n_gt if n_gt else 0.0
        out[f'P@{k}'] = 100.0 * prec
        out[f'R@{k}'] = 100.0 * rec
        out[f'F1@{k}'] = (100.0 * 2 * prec * rec / (prec + rec)
                          if prec + rec > 0 else 0.0)
        out[f'img_P@{k}'] = 100.0 * img_p[i] / num if num else 0.0
        out[f'img_R@{k}'] = 100.0 * img_r[i] / n_has if n_has else 0.0
    out['num_images'] = num
    out['num_classes'] = c1 - c0
    out['num_empty_classes'] = int(empty.sum())
    if return_per_class:
        out['per_class_AP'] = 100.0 * ap
    return out


# .npy files by byte offset ---------------------------------------------------
def npy_data_offset(path: str) -> Tuple[int, np.dtype, Tuple[int, ...]]:
    """Data offset, dtype and shape of a C-ordered ``.npy`` file."""
    with open(path, 'rb') as f:
        version = np.lib.format.read_magic(f)
        read = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                else np.lib.format.read_array_header_2_0)
        shape, fortran, dtype = read(f)
        if fortran:
            raise ValueError(f'{path}: Fortran-ordered arrays not supported')
        return f.tell(), dtype, shape


def create_npy(path: str, shape: Tuple[int, ...], dtype,
               fill: Optional[int] = None) -> None:
    """Create a (sparse) ``.npy`` file of ``shape``; readable with
    ``np.load(path, mmap_mode='r')``.

    Args:
        path (str): Output file.
        shape (tuple): Array shape.
        dtype: Array dtype.
        fill (int, optional): Byte written everywhere (else zeros, sparse).
    """
    dtype = np.dtype(dtype)
    header = {'descr': np.lib.format.dtype_to_descr(dtype),
              'fortran_order': False, 'shape': tuple(shape)}
    with open(path, 'wb') as f:
        np.lib.format.write_array_header_1_0(f, header)
        size = int(np.prod(shape)) * dtype.itemsize
        if fill is None:
            f.truncate(f.tell() + size)
        else:
            block = bytes([fill]) * min(size, 1 << 24)
            left = size
            while left > 0:
                n = min(left, len(block))
                f.write(block[:n])
                left -= n


def write_npy_rows(path: str, rows: np.ndarray, values: np.ndarray) -> None:
    """Write ``values[i]`` to row ``rows[i]`` of a 2-D ``.npy`` file.

    Consecutive row indices are written with one call.
    """
    offset, dtype, shape = npy_data_offset(path)
    values = np.ascontiguousarray(values, dtype=dtype)
    rows = np.asarray(rows, dtype=np.int64)
    if values.shape != (rows.size, shape[1]):
        raise ValueError(f'{path}: values of shape {values.shape} for '
                         f'{rows.size} rows of width {shape[1]}')
    if rows.size and (rows.min() < 0 or rows.max() >= shape[0]):
        raise ValueError(f'{path}: row index outside 0..{shape[0] - 1}')
    row_bytes = shape[1] * dtype.itemsize
    order = np.argsort(rows, kind='stable')
    rows, values = rows[order], values[order]
    breaks = np.flatnonzero(np.diff(rows) != 1) + 1
    fd = os.open(path, os.O_WRONLY)
    try:
        for a, b in zip(np.r_[0, breaks], np.r_[breaks, rows.size]):
            os.pwrite(fd, values[a:b].tobytes(),
                      offset + int(rows[a]) * row_bytes)
    finally:
        os.close(fd)


def read_npy_rows(path: str, start: int, stop: int) -> np.ndarray:
    """Rows ``start:stop`` of a 2-D ``.npy`` file (a private copy)."""
    offset, dtype, shape = npy_data_offset(path)
    stop = min(stop, shape[0])
    count = max(stop - start, 0) * shape[1]
    with open(path, 'rb') as f:
        f.seek(offset + start * shape[1] * dtype.itemsize)
        data = np.fromfile(f, dtype=dtype, count=count)
    return data.reshape(-1, shape[1])


def transpose_npy(src: str, dst: str, chunk_bytes: int = 1 << 26) -> None:
    """Write the transpose of a 2-D ``.npy`` file, ``chunk_bytes`` of rows
    at a time (one positioned write per column and chunk)."""
    offset_s, dtype, (n, c) = npy_data_offset(src)
    create_npy(dst, (c, n), dtype)
    offset_d = npy_data_offset(dst)[0]
    item = dtype.itemsize
    step = max(1, chunk_bytes // max(1, c * item))
    fd = os.open(dst, os.O_WRONLY)
    try:
        for r0 in range(0, n, step):
            block = np.ascontiguousarray(read_npy_rows(src, r0, r0 + step).T)
            for j in range(c):
                os.pwrite(fd, block[j].tobytes(),
                          offset_d + (j * n + r0) * item)
    finally:
        os.close(fd)
