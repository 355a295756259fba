"""The synthetic world: determinism, caption hygiene, split separation,
COCO-ZSL files read by the real readers."""
import hashlib
import json
import os.path as osp

import numpy as np
import pytest

from granzsl_mm.proving_ground.world import (
    DEFAULT_WORLD,
    WorldSpec,
    caption_for,
    contains_phrase,
    object_labels,
    sample_objects,
    world_classes,
    world_descriptions,
)
from granzsl_mm.proving_ground.world_io import build_synthetic_world


@pytest.fixture(scope='module')
def world(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('world'))
    meta = build_synthetic_world(root, num_train=30, num_test=24, seed=3)
    return root, meta


def _load(root, name):
    with open(osp.join(root, name), encoding='utf-8') as f:
        return json.load(f)


def _digests(root, prefix):
    out = {}
    for im in _load(root, f'annotations/instances_{prefix}.json')['images']:
        with open(osp.join(root, 'images', im['file_name']), 'rb') as f:
            out[im['file_name']] = hashlib.sha1(f.read()).hexdigest()
    return out


def test_classes_levels_and_split():
    info = world_classes(DEFAULT_WORLD)
    classes = info['classes']
    assert len(classes) == 2 + 4 + 20 and len(set(classes)) == len(classes)
    assert info['unseen_classes'] == [c for c in classes[-5:]]
    assert set(info['unseen_classes']) == set(DEFAULT_WORLD.unseen)
    assert classes[:len(info['seen_classes'])] == info['seen_classes']
    level = dict(zip(classes, info['class_levels']))
    parent = dict(zip(classes, info['class_parents']))
    assert (level['round shape'], level['circle'], level['red circle']) == \
        (0, 1, 2)
    assert parent['red circle'] == 'circle' and parent['circle'] == \
        'round shape' and parent['round shape'] is None
    # every unseen class is made of a colour and a shape that seen classes use
    seen_words = {w for c in info['seen_classes'] for w in c.split()}
    for name in info['unseen_classes']:
        assert set(name.split()) <= seen_words


def test_spec_rejects_untransferable_split():
    with pytest.raises(ValueError, match='colour'):
        WorldSpec(unseen=tuple(f'red {s}' for s in
                               ('circle', 'ring', 'square', 'triangle')))
    with pytest.raises(ValueError, match='not colour'):
        WorldSpec(unseen=('pink circle', ))


def test_objects_labels_and_captions_rules():
    rng = np.random.default_rng(0)
    for _ in range(200):
        objs = sample_objects(rng, include_unseen=False)
        assert 1 <= len(objs) <= DEFAULT_WORLD.max_objects
        assert not any(o.fine_class in DEFAULT_WORLD.unseen for o in objs)
        # objects never overlap
        for i, a in enumerate(objs):
            for b in objs[i + 1:]:
                assert np.hypot(a.cx - b.cx, a.cy - b.cy) > a.radius + b.radius
        labels = object_labels(objs)
        expected = set()
        for o in objs:
            expected |= {o.fine_class, o.shape,
                         dict(DEFAULT_WORLD.shapes)[o.shape]}
        assert set(labels) == expected
        cap = caption_for(objs, rng)
        for o in objs:
            assert contains_phrase(cap, o.colour)
    assert contains_phrase('a big red circle.', 'red circle')
    assert not contains_phrase('a red square and a blue circle', 'red circle')


def test_same_seed_same_world_other_seed_other(world, tmp_path):
    root, meta = world
    again = str(tmp_path / 'again')
    meta2 = build_synthetic_world(again, num_train=30, num_test=24, seed=3)
    assert meta2 == meta
    for split in ('train', 'test'):
        assert _digests(root, split) == _digests(again, split)
        assert _load(root, f'annotations/instances_{split}.json') == _load(
            again, f'annotations/instances_{split}.json')
    assert _load(root, 'annotations/captions_pretrain.json') == _load(
        again, 'annotations/captions_pretrain.json')
    other = str(tmp_path / 'other')
    build_synthetic_world(other, num_train=30, num_test=24, seed=4)
    assert _digests(other, 'test') != _digests(root, 'test')


def test_captions_never_name_an_unseen_class(world):
    root, meta = world
    caps = _load(root, 'annotations/captions_pretrain.json')['annotations']
    assert len(caps) == 2 * 30
    words = set()
    for ann in caps:
        for name in meta['unseen_classes']:
            assert not contains_phrase(ann['caption'], name), ann['caption']
        words |= set(ann['caption'].replace('.', ' ').replace(',', ' ').split())
    # ... while their parts do occur (that is what makes transfer possible)
    for name in meta['unseen_classes']:
        assert set(name.split()) <= words


def test_pretrain_and_test_images_apart(world):
    root, meta = world
    train, test = _digests(root, 'train'), _digests(root, 'test')
    assert not set(train) & set(test)
    assert not set(train.values()) & set(test.values())
    ann = _load(root, 'annotations/instances_train.json')
    unseen_ids = {c['id'] for c in ann['categories']
                  if c['name'] in meta['unseen_classes']}
    assert not any(a['category_id'] in unseen_ids for a in ann['annotations'])
    # the test set does hold unseen objects
    test_ann = _load(root, 'annotations/instances_test.json')
    assert any(a['category_id'] in unseen_ids for a in test_ann['annotations'])
    assert meta['build']['seed'] == 3


def test_descriptions_follow_the_rules(world):
    from granzsl_mm.datasets import load_descriptions
    root, meta = world
    desc = load_descriptions(osp.join(root, 'descriptions.json'),
                             classes=meta['classes'])
    assert desc == world_descriptions(DEFAULT_WORLD)
    assert desc['green triangle']['parents'] == ['triangle', 'angular shape',
                                                 'shape']
    assert 'is green' in desc['green triangle']['attributes']
    assert 'green triangle' in desc['triangle']['children']
    assert desc['round shape']['children'] == ['circle', 'ring']


def test_coco_zsl_dataset_reads_the_world(world):
    from granzsl_mm import register_all_modules
    from granzsl_mm.registry import DATASETS
    register_all_modules()
    root, meta = world
    ds = DATASETS.build(dict(
        type='COCOZSLDataset', data_root=root,
        ann_file='annotations/instances_test.json',
        data_prefix=dict(img_path='images'), split_file='split.json',
        label_set='all', pipeline=[]))
    assert list(ds.metainfo['classes']) == meta['classes']
    assert len(ds) == 24
    inst = _load(root, 'annotations/instances_test.json')
    names = {c['id']: c['name'] for c in inst['categories']}
    first = inst['images'][0]['id']
    want = sorted({meta['classes'].index(names[a['category_id']])
                   for a in inst['annotations'] if a['image_id'] == first})
    info = ds.get_data_info(0)
    assert sorted(np.flatnonzero(np.asarray(info['gt_score']) == 1)) == want

