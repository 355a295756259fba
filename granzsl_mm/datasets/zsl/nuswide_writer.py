"""Write NUS-WIDE metadata in the official formats (fixtures, subsets,
benchmarks): CRLF text files laid out as in the official downloads."""
import os.path as osp
from typing import Sequence

import numpy as np

from granzsl_mm.utils.atomic_io import atomic_write_bytes, atomic_write_text

__all__ = ['write_nuswide_metadata', 'binary_matrix_bytes']


def binary_matrix_bytes(mat: np.ndarray, sep: bytes = b' ') -> bytes:
    """A 0/1 matrix as text: one CRLF line per row, values separated by
    ``sep`` (one byte), written with NumPy (100k x 1000 in about a second).

    Args:
        mat (np.ndarray): ``N x C`` matrix of 0/1.
        sep (bytes): Separator byte.

    Returns:
        bytes: The text.
    """
    mat = np.asarray(mat, dtype=np.uint8)
    n, c = mat.shape
    out = np.full((n, 2 * c + 1), ord(sep), dtype=np.uint8)
    out[:, 0:2 * c:2] = mat + 48
    out[:, 2 * c - 1] = 13
    out[:, 2 * c] = 10
    return out.tobytes()


def _write_lines(path: str, lines: Sequence[str]) -> None:
    atomic_write_text(''.join(f'{line}\r\n' for line in lines), path)


def write_nuswide_metadata(root: str, tags: Sequence[str],
                           concepts: Sequence[str], keys: Sequence[str],
                           is_train: Sequence[bool], tag_matrix: np.ndarray,
                           concept_matrix: np.ndarray) -> None:
    """Write ``ImageList/``, ``NUS_WID_Tags/``, ``ConceptsList/`` and
    ``Groundtruth/AllLabels/`` under ``root``.

    Args:
        root (str): Output root.
        tags (Sequence[str]): ``TagList1k`` names.
        concepts (Sequence[str]): ``Concepts81`` names.
        keys (Sequence[str]): Images as ``folder/file.jpg`` (Imagelist order).
        is_train (Sequence[bool]): Official split of each image.
        tag_matrix (np.ndarray): ``len(keys) x len(tags)`` 0/1.
        concept_matrix (np.ndarray): ``len(keys) x len(concepts)`` 0/1.
    """
    win = [k.replace('/', '\\') for k in keys]
    _write_lines(osp.join(root, 'ImageList', 'Imagelist.txt'),
                 [f'C:\\ImageData\\Flickr\\{k}' for k in win])
    _write_lines(osp.join(root, 'ImageList', 'TrainImagelist.txt'),
                 [k for k, t in zip(win, is_train) if t])
    _write_lines(osp.join(root, 'ImageList', 'TestImagelist.txt'),
                 [k for k, t in zip(win, is_train) if not t])
    _write_lines(osp.join(root, 'NUS_WID_Tags', 'TagList1k.txt'), tags)
    atomic_write_bytes(binary_matrix_bytes(tag_matrix),
                       osp.join(root, 'NUS_WID_Tags', 'AllTags1k.txt'))
    _write_lines(osp.join(root, 'ConceptsList', 'Concepts81.txt'), concepts)
    label_dir = osp.join(root, 'Groundtruth', 'AllLabels')
    concept_matrix = np.asarray(concept_matrix, dtype=np.uint8)
    for k, concept in enumerate(concepts):
        atomic_write_bytes(binary_matrix_bytes(concept_matrix[:, k:k + 1]),
                           osp.join(label_dir, f'Labels_{concept}.txt'))
