"""Write a synthetic world in the COCO-ZSL formats (plus captions).

Layout of ``out_dir`` (what the demo configs and COCO readers expect)::

    images/train_00000.png ...        pre-training / training images
    images/test_00000.png ...         test images (own random streams)
    images/val_00000.png ...          validation images (``num_val > 0``)
    annotations/instances_train.json  COCO instances, seen labels only
    annotations/instances_test.json   COCO instances, all labels
    annotations/instances_val.json    COCO instances, all labels (``num_val``)
    annotations/captions_pretrain.json  COCO captions of the train images
    split.json                        {"seen": [...], "unseen": [...]}
    descriptions.json                 granzsl_mm.descriptions/v1
    world.json                        spec, class levels/parents, build info

Every image ``i`` of a split is drawn from its own generator
``default_rng([seed, split_id, i])`` (split ids: train 1, test 2), so images
do not depend on how many are made and the two splits never share a stream.
The validation split (drawn like the test split, for every choice a method
makes: learning rates, epochs, checkpoints) has its own seed:
``default_rng([val_seed, 3, i])``. Training images never hold an object of
an unseen class; an object of the world is labelled with its class on every
level (first world: fine class, shape, shape group; one COCO annotation
each, same box).
"""
import json
import os
import os.path as osp
from typing import Dict, Optional

import numpy as np
from PIL import Image

from granzsl_mm.datasets.descriptions.io import atomic_write_json, save_descriptions

from .render import render_image
from .world import (
    DEFAULT_WORLD,
    WorldSpec,
    caption_for,
    object_classes,
    object_labels,
    sample_objects,
    world_classes,
    world_descriptions,
)

__all__ = ['build_synthetic_world', 'load_world_meta', 'SPLIT_IDS',
           'WORLD_FORMAT']

WORLD_FORMAT = 'granzsl_mm.synthetic_world/v1'
SPLIT_IDS = {'train': 1, 'test': 2, 'val': 3}


def _categories(info: dict) -> list:
    cats = []
    for i, name in enumerate(info['classes']):
        parent = info['class_parents'][i]
        cats.append(dict(id=i + 1, name=name, supercategory=parent or 'shape',
                         level=info['class_levels'][i]))
    return cats


def _make_split(out_dir: str, split: str, count: int, seed: int,
                spec: WorldSpec, info: dict, captions_per_image: int,
                progress: bool) -> dict:
    """Render one split; return its instances (and captions) dicts."""
    cat_id = {name: i + 1 for i, name in enumerate(info['classes'])}
    unseen = set(info['unseen_classes'])
    train = split == 'train'
    images, anns, caps = [], [], []
    iterator = range(count)
    if progress:
        from tqdm import tqdm
        iterator = tqdm(iterator, desc=f'world: {split} images', leave=False)
    for i in iterator:
        rng = np.random.default_rng([seed, SPLIT_IDS[split], i])
        objects = sample_objects(rng, spec, include_unseen=not train)
        pixels = render_image(objects, rng, spec)
        name = f'{split}_{i:05d}.png'
        Image.fromarray(pixels).save(osp.join(out_dir, 'images', name),
                                     compress_level=1)
        image_id = i + 1
        images.append(dict(id=image_id, file_name=name,
                           width=spec.image_size, height=spec.image_size))
        for obj in objects:
            box = [obj.cx - obj.radius, obj.cy - obj.radius,
                   2 * obj.radius, 2 * obj.radius]
            for cls in object_classes(obj, spec):
                if train and cls in unseen:  # cannot happen; kept explicit
                    continue
                anns.append(dict(id=len(anns) + 1, image_id=image_id,
                                 category_id=cat_id[cls],
                                 bbox=[round(v, 2) for v in box],
                                 area=round(box[2] * box[3], 2), iscrowd=0))
        if train:
            for _ in range(captions_per_image):
                caps.append(dict(id=len(caps) + 1, image_id=image_id,
                                 caption=caption_for(objects, rng, spec)))
        assert object_labels(objects, spec)  # every image has labels
    cats = _categories(info)
    out = dict(instances=dict(info=dict(description=f'{split} split of a '
                                        'granzsl_mm synthetic world'),
                              images=images, annotations=anns,
                              categories=cats))
    if train:
        out['captions'] = dict(images=images, annotations=caps)
    return out


def build_synthetic_world(out_dir: str,
                          spec: WorldSpec = DEFAULT_WORLD,
                          num_train: int = 4000,
                          num_test: int = 600,
                          seed: int = 0,
                          captions_per_image: int = 2,
                          num_val: int = 0,
                          val_seed: Optional[int] = None,
                          overwrite: bool = False,
                          progress: bool = False) -> Dict:
    """Draw a world and write it in the COCO-ZSL formats (see module doc).

    An existing world with the same build settings is reused unless
    ``overwrite``. Nothing is replaced without ``overwrite``: a world with
    other settings (a user's own, smaller one) and a non-empty folder that
    holds no world are refused before anything is written.

    Args:
        out_dir (str): Output folder (e.g. ``data/demo``).
        spec (WorldSpec): The world's factors and class split.
        num_train (int): Pre-training / training images.
        num_test (int): Test images.
        seed (int): Base seed of every random stream.
        captions_per_image (int): Captions written per training image.
        num_val (int): Validation images (0: no validation split, the first
            demo world's layout).
        val_seed (int, optional): Seed of the validation images' streams
            (default: ``seed``; their split id keeps them apart anyway).
        overwrite (bool): Rebuild even when the settings match, and replace
            a world with other settings.
        progress (bool): Show progress bars.

    Returns:
        dict: The ``world.json`` content (build settings, class lists,
        ``class_levels``, ``class_parents``, counts).

    Raises:
        FileExistsError: ``out_dir`` holds a world with other settings, or
            other files, and ``overwrite`` is False.
    """
    if num_train < 1 or num_test < 1 or num_val < 0:
        raise ValueError('num_train and num_test must be positive, num_val '
                         'not negative')
    build = dict(format=WORLD_FORMAT, spec=spec.fingerprint(), seed=seed,
                 num_train=num_train, num_test=num_test,
                 captions_per_image=captions_per_image)
    val_seed = seed if val_seed is None else int(val_seed)
    if num_val:  # absent otherwise: the first world's build record
        build.update(num_val=num_val, val_seed=val_seed)
    meta_path = osp.join(out_dir, 'world.json')
    if not overwrite and osp.isfile(meta_path):
        with open(meta_path, encoding='utf-8') as f:
            meta = json.load(f)
        if meta.get('build') == build:
            return meta
        old = meta.get('build') or {}
        diff = ', '.join(f'{k} {old.get(k)!r} -> {v!r}' for k, v in
                         build.items() if old.get(k) != v)
        raise FileExistsError(
            f'{out_dir} holds a world built with other settings ({diff}); '
            'pass --overwrite to replace it, or choose another --data-root.')
    if not overwrite and osp.isdir(out_dir) and os.listdir(out_dir) and \
            not osp.isfile(meta_path):
        raise FileExistsError(
            f'{out_dir} is not empty and holds no synthetic world; pass '
            '--overwrite to write one into it, or choose another '
            '--data-root.')
    os.makedirs(osp.join(out_dir, 'images'), exist_ok=True)
    os.makedirs(osp.join(out_dir, 'annotations'), exist_ok=True)
    info = world_classes(spec)
    counts = {}
    splits = [('train', num_train, seed), ('test', num_test, seed)]
    if num_val:
        splits.append(('val', num_val, val_seed))
    for split, count, split_seed in splits:
        made = _make_split(out_dir, split, count, split_seed, spec, info,
                           captions_per_image, progress)
        ann_dir = osp.join(out_dir, 'annotations')
        atomic_write_json(made['instances'],
                          osp.join(ann_dir, f'instances_{split}.json'))
        if 'captions' in made:
            atomic_write_json(made['captions'],
                              osp.join(ann_dir, 'captions_pretrain.json'))
        labels = np.zeros(len(info['classes']), dtype=np.int64)
        per_image = {}
        for ann in made['instances']['annotations']:
            per_image.setdefault(ann['image_id'], set()).add(
                ann['category_id'] - 1)
        for ids in per_image.values():
            labels[list(ids)] += 1
        counts[split] = dict(images=count,
                             positives=dict(zip(info['classes'],
                                                labels.tolist())))
    atomic_write_json(dict(seen=info['seen_classes'],
                           unseen=info['unseen_classes']),
                      osp.join(out_dir, 'split.json'))
    save_descriptions(world_descriptions(spec),
                      osp.join(out_dir, 'descriptions.json'),
                      notes='Generated by the synthetic world\'s rules '
                      '(granzsl_mm.proving_ground.world).')
    meta = dict(build=build, spec=spec.to_dict(), counts=counts, **info)
    atomic_write_json(meta, meta_path)  # last: marks a complete build
    return meta


def load_world_meta(out_dir: str) -> Optional[dict]:
    """``world.json`` of a built world, or None."""
    path = osp.join(out_dir, 'world.json')
    if not osp.isfile(path):
        return None
    with open(path, encoding='utf-8') as f:
        return json.load(f)

