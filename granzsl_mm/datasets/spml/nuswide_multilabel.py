"""NUS-WIDE multi-label reader over the 81 concepts (single-positive sets).

The four SPML benchmarks of Zhou et al. 2022, VLPL and SigRL include
NUS-WIDE with its 81 ground-truth concepts. This reader takes them from the
official metadata (read by :mod:`granzsl_mm.datasets.zsl.nuswide_metadata`):

* ``ConceptsList/Concepts81.txt``: the 81 concepts, the label order;
* ``ImageList/Imagelist.txt``: the row order of the label files;
* ``ImageList/TrainImagelist.txt`` / ``TestImagelist.txt``: the official
  split (the images in the order listed there);
* ``Groundtruth/AllLabels/Labels_<concept>.txt``: one 0/1 per image.

Every concept is a class (no seen / unseen split); 0 is negative, no label
is unknown. Images without a positive concept are kept by default, as the
SPML references keep them (their formatted NUS-WIDE files hold about 22 %
such images, see ``docs/spml.md``). Images are
``<data_prefix>/<folder>/<file>.jpg`` (the official ``Flickr`` folder).
"""
import os.path as osp
from typing import List, Optional

from granzsl_mm.registry import DATASETS

from ..zsl.nuswide_metadata import (
    SPLIT_LISTS,
    find_metadata_file,
    read_concept_labels,
    read_lines,
    read_split_rows,
    rows_to_positives,
)
from ..zsl.zsl_multilabel_dataset import ZSLMultiLabelDataset

__all__ = ['NUSWIDE_NUM_CONCEPTS', 'NUSWideMultiLabelDataset']

NUSWIDE_NUM_CONCEPTS = 81
SPLITS = tuple(SPLIT_LISTS)


@DATASETS.register_module()
class NUSWideMultiLabelDataset(ZSLMultiLabelDataset):
    """NUS-WIDE, 81 concepts, full labels from the official metadata.

    Args:
        data_root (str): NUS-WIDE root (the official metadata folders).
        split (str): ``'train'`` (``TrainImagelist.txt``, the SPML train /
            val source) or ``'test'`` (``TestImagelist.txt``).
        empty_images (str): ``'keep'`` (default, as the references) or
            ``'drop'`` images without a positive concept.
        data_prefix (dict): Image folder (``img_path``, default ``'Flickr'``).
        num_concepts (int, optional): Expected number of concepts (81;
            None: any).
        **kwargs: ``ZSLMultiLabelDataset`` / ``BaseDataset`` arguments
            (``check_images``, ``bad_images``, ``pipeline``, ...).
    """

    def __init__(self,
                 data_root: str,
                 split: str = 'train',
                 empty_images: str = 'keep',
                 data_prefix: Optional[dict] = None,
                 num_concepts: Optional[int] = NUSWIDE_NUM_CONCEPTS,
                 **kwargs) -> None:
        if split not in SPLITS:
            raise ValueError(f'split must be one of {SPLITS}, got {split!r}')
        concepts = read_lines(find_metadata_file(data_root, 'Concepts81.txt'))
        if num_concepts is not None and len(concepts) != num_concepts:
            raise ValueError(f'Concepts81.txt lists {len(concepts)} concepts, '
                             f'expected {num_concepts}')
        self.split = split
        super().__init__(seen_classes=concepts, unseen_classes=(),
                         label_set='all', empty_images=empty_images,
                         ann_file='', data_root=data_root,
                         data_prefix=data_prefix or dict(img_path='Flickr'),
                         **kwargs)

    def load_raw_items(self) -> List[dict]:
        """Images of the split, in its list order, with their concepts."""
        all_keys, keys, rows = read_split_rows(self.data_root, self.split)
        labels = read_concept_labels(self.data_root, self.all_seen_classes,
                                     len(all_keys))[rows]
        return [dict(img_path=osp.join(self.image_folder, k), positives=p,
                     unknowns=[])
                for k, p in zip(keys, rows_to_positives(labels))]
