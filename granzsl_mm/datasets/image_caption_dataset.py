"""Image-caption pairs from a COCO captions file (contrastive pre-training)."""
import os.path as osp
from typing import List, Optional

from mmengine.dataset import BaseDataset

from granzsl_mm.registry import DATASETS

from .zsl.annotation_file import load_json_file

__all__ = ['ImageCaptionDataset']


@DATASETS.register_module()
class ImageCaptionDataset(BaseDataset):
    """One item per (image, caption) pair of a COCO captions json.

    The file holds ``images`` (``id``, ``file_name``) and ``annotations``
    (``image_id``, ``caption``), as COCO's ``captions_*.json``. Items carry
    ``img_path`` and ``caption``; pack the caption with
    ``PackInputs(algorithm_keys=['caption'])``.

    Args:
        ann_file (str): The captions json (relative to ``data_root``).
        data_root (str): Root folder.
        data_prefix (dict): ``img_path`` folder of the images.
        pipeline (list): Transforms.
        **kwargs: Other ``BaseDataset`` arguments (``indices``, ...).
    """

    def __init__(self, ann_file: str, data_root: str = '',
                 data_prefix: Optional[dict] = None, pipeline=(),
                 **kwargs) -> None:
        if data_prefix is None:
            data_prefix = dict(img_path='')
        super().__init__(ann_file=ann_file, data_root=data_root,
                         data_prefix=data_prefix, pipeline=list(pipeline),
                         **kwargs)

    def load_data_list(self) -> List[dict]:
        """Read the captions json into ``{img_path, caption}`` items."""
        data = load_json_file(self.ann_file, 'captions file')
        if not isinstance(data, dict) or not {'images', 'annotations'} <= set(
                data):
            raise ValueError(f'{self.ann_file}: expected a COCO captions '
                             'json with "images" and "annotations"')
        files = {im['id']: im['file_name'] for im in data['images']}
        prefix = self.data_prefix.get('img_path', '')
        items = []
        for ann in data['annotations']:
            if ann['image_id'] not in files:
                raise ValueError(f'{self.ann_file}: caption {ann.get("id")} '
                                 f'names unknown image {ann["image_id"]}')
            caption = str(ann.get('caption', '')).strip()
            if not caption:
                raise ValueError(f'{self.ann_file}: empty caption '
                                 f'{ann.get("id")}')
            items.append(dict(img_path=osp.join(prefix, files[ann['image_id']]),
                              caption=caption))
        return items
