"""A tiny COCO-style ZSL test set and tiny configs of the zero-shot baseline
and GranZSL for runs of tools/test.py (prediction dumps, class order,
``none`` checkpoints, distributed tests)."""
import json
import os.path as osp

import numpy as np
from mmengine.config import Config
from PIL import Image

from tests.fixtures.run_tools import REPO
from tests.fixtures.tiny_override import tiny_override

SEEN = ['person', 'dog', 'car']
UNSEEN = ['cat', 'boat']
CAT_IDS = dict(person=1, car=3, boat=9, cat=17, dog=18)  # COCO ids


def make_tiny_coco(root: str, num_images: int, seed: int = 0) -> str:
    """``num_images`` random 32 px images with labels over 5 classes; every
    class has a positive and a negative. Returns ``root``."""
    rng = np.random.default_rng(seed)
    names = SEEN + UNSEEN
    while True:
        labels = rng.random((num_images, len(names))) < 0.4
        if labels.any(0).all() and (~labels).any(0).all():
            break
    img_dir = osp.join(root, 'val2014')
    import os
    os.makedirs(osp.join(root, 'annotations'), exist_ok=True)
    os.makedirs(img_dir, exist_ok=True)
    images, anns = [], []
    for i in range(num_images):
        name = f'{i:03d}.png'
        Image.fromarray(rng.integers(0, 256, (32, 32, 3), np.uint8)).save(
            osp.join(img_dir, name))
        images.append(dict(id=i + 1, file_name=name, width=32, height=32))
        for c in np.flatnonzero(labels[i]):
            anns.append(dict(id=len(anns) + 1, image_id=i + 1,
                             category_id=CAT_IDS[names[c]],
                             bbox=[0, 0, 4, 4], area=16.0, iscrowd=0))
    cats = [dict(id=CAT_IDS[n], name=n) for n in names]
    with open(osp.join(root, 'annotations', 'test.json'), 'w') as f:
        json.dump(dict(images=images, annotations=anns, categories=cats), f)
    with open(osp.join(root, 'split.json'), 'w') as f:
        json.dump(dict(seen=SEEN, unseen=UNSEEN), f)
    return root


def tiny_config(kind: str, root: str, out: str, **extra) -> str:
    """Write a tiny ``kind`` ('zeroshot' or 'granzsl') config testing on the
    set at ``root``; returns its path."""
    name = dict(zeroshot='clip_zeroshot_coco.py',
                granzsl='granzsl_coco.py')[kind]
    cfg = tiny_override(Config.fromfile(osp.join(REPO, 'configs', name)),
                        batch_size=2)
    test = cfg.test_dataloader
    test.dataset.update(data_root=root, ann_file='annotations/test.json',
                        data_prefix=dict(img_path='val2014'),
                        split_file=osp.join(root, 'split.json'))
    test.num_workers = 0
    test.persistent_workers = False
    cfg.randomness = dict(seed=0)
    cfg.model.num_seen_classes = len(SEEN)
    if kind == 'zeroshot':
        cfg.model.class_names = SEEN + UNSEEN
        cfg.model.templates = 'single'
    else:
        cfg.model.num_classes = len(SEEN + UNSEEN)
        cfg.model.class_names = SEEN + UNSEEN
        cfg.train_dataloader.dataset.update(
            split_file=osp.join(root, 'split.json'),
            description_file=osp.join(root, 'descriptions.json'),
            templates='single')
        with open(osp.join(root, 'descriptions.json'), 'w') as f:
            json.dump(dict(format='granzsl_mm.descriptions/v1', classes={
                n: dict(sentences=[f'a photo of a {n}.']) for n in
                SEEN + UNSEEN}), f)
    cfg.merge_from_dict(extra)
    cfg.dump(out)
    return out
