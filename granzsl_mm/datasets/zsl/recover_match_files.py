"""Recover-and-Match's released filtered test files, read as released.

``EricTan7/RAM`` ships ``datasets/json/test_17_filtered.json`` (COCO ZSL:
the 17 unseen classes) and ``test_65_filtered.json`` (COCO GZSL: all 65);
its NUS-WIDE files (``test_81_filtered.json``, ``test_1006_filtered.json``)
are listed but not stored in its repository. Each is a JSON object::

    {"classes": [name, ...],
     "images": [[image path, [label name, ...]], ...]}

A label may repeat within an image (one entry per annotated object); the
reference (``datasets/MultiLabel/classification.py::_load_dataset``) keeps
the distinct labels that are in the class list, orders the classes
alphabetically for the ZSL file and as "seen (sorted) + unseen (sorted)" for
the GZSL one, and keeps images without a label as all-negative rows. The
image paths are absolute paths of the authors' machine.

Read through :func:`granzsl_mm.utils.json_files.read_json` (the door for
JSON from others): bounded size, no repeated keys, and the shape above
checked with the file named in every error.
"""
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from granzsl_mm.utils.json_files import JSONFileError, read_json

__all__ = ['FilteredTestFile', 'read_filtered_test_file',
           'MAX_FILTERED_FILE_BYTES']

# the released COCO files are 0.3 and 0.9 MB; NUS-WIDE's GZSL one is larger
MAX_FILTERED_FILE_BYTES = 256 << 20


@dataclass
class FilteredTestFile:
    """One filtered test file.

    Attributes:
        path (str): Where it was read from.
        classes (list[str]): The ``classes`` entry, in file order.
        images (list[tuple[str, list[str]]]): Image path and its label names
            as stored (repeats kept).
    """
    path: str
    classes: List[str]
    images: List[Tuple[str, List[str]]]

    def label_matrix(self, classes: Optional[Sequence[str]] = None
                     ) -> Tuple[List[str], np.ndarray]:
        """The reference's one-hot labels.

        Args:
            classes: Column order (the reference's GZSL order: seen sorted,
                then unseen sorted); None: the file's classes sorted, as the
                reference reads a ZSL file.

        Returns:
            tuple: the column names and an ``[N, C]`` int64 matrix in {0, 1}
            (labels outside ``classes`` are dropped, as the reference does).
        """
        names = sorted(self.classes) if classes is None else list(classes)
        index = {n: i for i, n in enumerate(names)}
        out = np.zeros((len(self.images), len(names)), dtype=np.int64)
        for row, (_, labels) in enumerate(self.images):
            cols = [index[n] for n in set(labels) if n in index]
            out[row, cols] = 1
        return names, out

    def counts(self) -> Dict[str, object]:
        """What the file implies: images, classes, positives per class.

        Returns:
            dict: ``images``, ``distinct_images``, ``classes``,
            ``images_without_labels``, ``positive_pairs`` (distinct
            image-label pairs) and ``images_per_class`` (name -> count).
        """
        names, labels = self.label_matrix()
        return {
            'images': len(self.images),
            'distinct_images': len({p for p, _ in self.images}),
            'classes': len(self.classes),
            'images_without_labels': int((labels.sum(1) == 0).sum()),
            'positive_pairs': int(labels.sum()),
            'images_per_class': dict(zip(names,
                                         labels.sum(0).astype(int).tolist())),
        }


def read_filtered_test_file(path: str,
                            max_bytes: int = MAX_FILTERED_FILE_BYTES
                            ) -> FilteredTestFile:
    """Read one of Recover-and-Match's filtered test files.

    Args:
        path: The file.
        max_bytes: Largest file accepted.

    Returns:
        FilteredTestFile: Its classes and images.

    Raises:
        FileNotFoundError: No such file.
        JSONFileError: Not JSON, too large, or not of the released shape.
    """
    what = 'Recover-and-Match filtered test file'
    data = read_json(path, what, max_bytes=max_bytes)
    if not isinstance(data, dict) or set(data) != {'classes', 'images'}:
        raise JSONFileError(f'{what} {path}: expected an object with exactly '
                            '"classes" and "images"')
    classes = data['classes']
    if not isinstance(classes, list) or not all(
            isinstance(c, str) for c in classes):
        raise JSONFileError(f'{what} {path}: "classes" must be a list of '
                            'names')
    if len(set(classes)) != len(classes):
        raise JSONFileError(f'{what} {path}: "classes" names a class twice')
    images = []
    for i, item in enumerate(data['images']
                             if isinstance(data['images'], list) else [None]):
        if not (isinstance(item, list) and len(item) == 2
                and isinstance(item[0], str) and isinstance(item[1], list)
                and all(isinstance(n, str) for n in item[1])):
            raise JSONFileError(f'{what} {path}: images[{i}] must be '
                                '[image path, [label name, ...]]')
        images.append((item[0], list(item[1])))
    return FilteredTestFile(path=path, classes=list(classes), images=images)
