"""Readers of the Open Images v4 (2018_04) files and BiAM's zero-shot split.

Official files (``<root>/2018_04/`` as BiAM / LESA lay them out, or directly
in ``<root>``):

* ``class-descriptions.csv``: ``MID,Name`` per line, no header (19,995 lines;
  names holding a comma are quoted).
* ``<split>/<split>-annotations-human-imagelabels.csv`` (``split`` in
  ``train``, ``validation``, ``test``): header ``ImageID,Source,LabelName,
  Confidence``; Confidence 1 = verified positive, 0 = verified negative; a
  label not listed for an image is unknown.

The zero-shot split as BiAM ships it (``datasets/OpenImages/2018_04/``,
byte-identical to LESA's ``data/OpenImages/2018_04/``):

* ``classes-trainable.txt``: the 7,186 seen MIDs (Google's v4 trainable
  list), one per line; the line order is the seen label order (not sorted).
* ``unseen_labels.pkl``: a pickled NumPy object array of 2,594 MID strings
  (read with :func:`granzsl_mm.utils.safe_pickle.safe_pickle_load`).
* ``top_400_unseen.csv``: 400 indices into ``unseen_labels`` (UTF-8 BOM,
  CRLF, no header, no final newline); the file order is the order of the 400
  evaluated unseen classes.

The rule behind them (LESA, Huynh & Elhamifar CVPR 2020, Sec. 4; no code of
LESA or BiAM computes it, the files ship precomputed): seen = the 7,186
trainable classes of Open Images v4 (Google's list of labels with enough
human-verified training positives); unseen = labels that are not trainable
(the 2,594 pool), of which the 400 most frequent in the test set are
evaluated. The pool and the frequency order are not re-derivable without the
full annotation CSVs; these readers take the shipped files as they are.

BiAM builds its label matrices as ``label[c] = 2 * Confidence - 1`` (+1 / -1,
0 unknown; ``feature_extraction/extract_openimages_test.py``); ours are 1 /
0 / -1 (``utils.label_matrix.signed_to_ours`` of those). Where an image lists
the same label twice, the last row wins (BiAM's in-chunk assignment).
"""
import csv
import os.path as osp
from typing import Dict, List, Sequence, Tuple

from granzsl_mm.utils.safe_pickle import safe_pickle_load

__all__ = [
    'OPENIMAGES_FILES', 'HUMAN_LABELS_HEADER', 'find_openimages_file',
    'read_class_descriptions', 'read_trainable_classes',
    'read_unseen_labels', 'read_top_unseen', 'read_human_labels',
    'unique_display_names'
]

OPENIMAGES_FILES = ('class-descriptions.csv', 'classes-trainable.txt',
                    'unseen_labels.pkl', 'top_400_unseen.csv')
HUMAN_LABELS_HEADER = ('ImageID', 'Source', 'LabelName', 'Confidence')


def find_openimages_file(root: str, name: str) -> str:
    """``<root>/2018_04/<name>`` or ``<root>/<name>``, whichever exists.

    Args:
        root (str): Open Images root.
        name (str): File name, e.g. ``'classes-trainable.txt'`` or
            ``'test/test-annotations-human-imagelabels.csv'``.

    Returns:
        str: The existing path.
    """
    candidates = [osp.join(root, '2018_04', name), osp.join(root, name)]
    if '/' in name:
        candidates.append(osp.join(root, osp.basename(name)))
    for path in candidates:
        if osp.isfile(path):
            return path
    raise FileNotFoundError(f'Open Images file {name} not found; looked for '
                            f'{candidates}')


def read_class_descriptions(path: str) -> Dict[str, str]:
    """``class-descriptions.csv`` as MID -> display name.

    Args:
        path (str): The csv (no header; quoted names allowed).

    Returns:
        dict[str, str]: MID -> name, stripped.
    """
    out: Dict[str, str] = {}
    with open(path, encoding='utf-8-sig', newline='') as f:
        for lineno, row in enumerate(csv.reader(f), 1):
            if not row:
                continue
            if len(row) < 2 or not row[0].strip():
                raise ValueError(f'{path}:{lineno}: expected MID,Name, got '
                                 f'{row!r}')
            out[row[0].strip()] = ','.join(row[1:]).strip(' "')
    return out


def read_trainable_classes(path: str) -> List[str]:
    """``classes-trainable.txt``: the seen MIDs in file order."""
    with open(path, encoding='utf-8-sig') as f:
        mids = [line.strip() for line in f if line.strip()]
    _check_unique(mids, path)
    return mids


def read_unseen_labels(path: str) -> List[str]:
    """``unseen_labels.pkl`` (object array or list of MID strings).

    Loaded with the restricted unpickler: nothing in the file runs.
    """
    data = safe_pickle_load(path, allow_str_object_arrays=True)
    mids = data.tolist() if hasattr(data, 'tolist') else data
    if not isinstance(mids, (list, tuple)) or not all(
            isinstance(m, str) for m in mids):
        raise ValueError(f'{path}: expected a sequence of MID strings, got '
                         f'{type(data).__name__}')
    mids = list(mids)
    _check_unique(mids, path)
    return mids


def read_top_unseen(path: str, num_unseen: int) -> List[int]:
    """``top_400_unseen.csv``: indices into the unseen list, file order.

    Args:
        path (str): The csv (UTF-8 BOM and CRLF as shipped are handled).
        num_unseen (int): Length of the unseen list (range check).

    Returns:
        list[int]: The indices.
    """
    with open(path, encoding='utf-8-sig') as f:
        tokens = [t.strip() for t in f.read().splitlines() if t.strip()]
    try:
        idx = [int(t.split(',')[0]) for t in tokens]
    except ValueError as e:
        raise ValueError(f'{path}: expected one integer per line ({e})') \
            from e
    bad = [i for i in idx if not 0 <= i < num_unseen]
    if bad:
        raise ValueError(f'{path}: indices outside 0..{num_unseen - 1}: '
                         f'{bad[:5]}')
    _check_unique(idx, path)
    return idx


def read_human_labels(path: str, column_of: Dict[str, int]
                      ) -> Tuple[List[str], List[List[int]], List[List[int]]]:
    """A ``*-annotations-human-imagelabels.csv`` as per-image label lists.

    Args:
        path (str): The csv (header ``ImageID,Source,LabelName,Confidence``).
        column_of (dict[str, int]): MID -> label index; rows of other MIDs
            are skipped (BiAM skips non-trainable MIDs the same way).

    Returns:
        tuple: Image ids (first-appearance order), the positive and the
        negative label indices of each image (sorted). Images whose rows
        all name skipped MIDs are left out.
    """
    order: Dict[str, Dict[int, int]] = {}
    with open(path, encoding='utf-8-sig', newline='') as f:
        reader = csv.reader(f)
        header = tuple(h.strip() for h in next(reader, ()))
        if header[:4] != HUMAN_LABELS_HEADER:
            raise ValueError(f'{path}: expected header '
                             f'{",".join(HUMAN_LABELS_HEADER)}, got '
                             f'{",".join(header)}')
        for lineno, row in enumerate(reader, 2):
            if not row:
                continue
            col = column_of.get(row[2])
            if col is None:
                continue
            conf = row[3].strip()
            if conf in ('1', '1.0'):
                value = 1
            elif conf in ('0', '0.0'):
                value = 0
            else:
                raise ValueError(f'{path}:{lineno}: Confidence must be 0 or '
                                 f'1, got {conf!r}')
            order.setdefault(row[0], {})[col] = value
    ids = list(order)
    positives = [sorted(c for c, v in order[i].items() if v == 1)
                 for i in ids]
    negatives = [sorted(c for c, v in order[i].items() if v == 0)
                 for i in ids]
    return ids, positives, negatives


def unique_display_names(mids: Sequence[str],
                         names: Dict[str, str]) -> List[str]:
    """Display names, unique: a name shared by several MIDs (109 of the
    7,586 in v4, e.g. two "Bun") gets its MID appended: ``'Bun (/m/0xyz)'``.

    Args:
        mids (Sequence[str]): The classes.
        names (dict[str, str]): MID -> name (``class-descriptions.csv``).

    Returns:
        list[str]: One unique name per MID.
    """
    missing = [m for m in mids if m not in names]
    if missing:
        raise ValueError(f'{len(missing)} MIDs have no entry in '
                         f'class-descriptions.csv, e.g. {missing[:5]}')
    count: Dict[str, int] = {}
    for m in mids:
        count[names[m]] = count.get(names[m], 0) + 1
    return [names[m] if count[names[m]] == 1 else f'{names[m]} ({m})'
            for m in mids]


def _check_unique(values: Sequence, path: str) -> None:
    seen, dup = set(), []
    for v in values:
        if v in seen:
            dup.append(v)
        seen.add(v)
    if dup:
        raise ValueError(f'{path}: listed twice: {dup[:5]}')
