""".npy score files read and written by byte offset (no memory map held).

Positioned I/O keeps the pages in the page cache and out of the process'
resident set: the streaming metric's score files
(:mod:`.score_file`) and spill files (:mod:`.spill_file`). NumPy only.
"""
import io
import os
from typing import Optional, Tuple

import numpy as np

__all__ = ['npy_header', 'npy_data_offset', 'create_npy', 'write_npy_rows',
           'read_npy_rows', 'transpose_npy']


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


def npy_header(shape: Tuple[int, ...], dtype) -> bytes:
    """The ``.npy`` (version 1.0) header of a C-ordered array.

    Args:
        shape (tuple): Array shape.
        dtype: Array dtype.

    Returns:
        bytes: Magic string and header, padded as NumPy pads them.
    """
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {
        'descr': np.lib.format.dtype_to_descr(np.dtype(dtype)),
        'fortran_order': False, 'shape': tuple(shape)})
    return buf.getvalue()


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
    with open(path, 'wb') as f:
        f.write(npy_header(shape, dtype))
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
