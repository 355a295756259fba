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



def test_first_world_keeps_its_fingerprint_and_build_record(world):
    # the first demo's cached artefacts and results.json name this spec
    assert DEFAULT_WORLD.fingerprint() == '0efb5afd166b'
    assert 'levels' not in DEFAULT_WORLD.to_dict()
    _, meta = world
    assert set(meta['build']) == {'format', 'spec', 'seed', 'num_train',
                                  'num_test', 'captions_per_image'}


def test_evidence_world_levels_and_unseen_closure():
    from granzsl_mm.proving_ground.world import WORLD_V2, get_world
    assert get_world('v2') is WORLD_V2 and get_world('v1') is DEFAULT_WORLD
    with pytest.raises(KeyError, match='unknown world'):
        get_world('v3')
    info = world_classes(WORLD_V2)
    classes, levels = info['classes'], info['class_levels']
    assert len(classes) == 2 + 4 + 10 + 20 + 40 == len(set(classes))
    level = dict(zip(classes, levels))
    per_level = {}
    for name in info['unseen_classes']:
        per_level[level[name]] = per_level.get(level[name], 0) + 1
    # unseen classes on the three compositional levels, >= 3 on each
    assert sorted(per_level) == [2, 3, 4]
    assert min(per_level.values()) >= 3
    unseen = set(info['unseen_classes'])
    # a class whose objects all belong to an unseen class is unseen too
    assert {'red circle', 'red ring', 'big red circle',
            'small red ring'} <= unseen
    # ... a coarser one is not: big green square unseen, green square seen
    assert 'big green square' in unseen and 'green square' not in unseen
    parent = dict(zip(classes, info['class_parents']))
    assert parent['big red circle'] == 'red circle'
    assert parent['red circle'] == 'red round shape'
    assert parent['red round shape'] == 'round shape'
    with pytest.raises(ValueError, match='size'):
        WorldSpec(levels=WORLD_V2.levels, unseen=tuple(
            f'big {c} {s}' for c in WORLD_V2.colour_names
            for s in WORLD_V2.shape_names))


def test_evidence_world_training_and_captions_hold_no_unseen_class():
    from granzsl_mm.proving_ground.world import WORLD_V2, object_classes
    unseen = set(world_classes(WORLD_V2)['unseen_classes'])
    rng = np.random.default_rng(1)
    seen_words = set()
    for _ in range(300):
        objs = sample_objects(rng, WORLD_V2, include_unseen=False)
        for o in objs:
            names = object_classes(o, WORLD_V2)
            assert len(names) == 5 and not set(names) & unseen
        cap = caption_for(objs, rng, WORLD_V2)
        seen_words |= set(cap.replace('.', ' ').replace(',', ' ').split())
        for name in unseen:
            assert not contains_phrase(cap, name), (cap, name)
    for name in unseen:
        assert set(name.split()) <= seen_words
    test_hits = set()
    for _ in range(300):
        for o in sample_objects(rng, WORLD_V2, include_unseen=True):
            test_hits |= set(object_classes(o, WORLD_V2)) & unseen
    assert test_hits == unseen


def test_validation_split_has_its_own_images(tmp_path):
    from granzsl_mm.proving_ground.world import WORLD_V2
    root = str(tmp_path / 'v2')
    meta = build_synthetic_world(root, spec=WORLD_V2, num_train=12,
                                 num_test=10, num_val=8, seed=2, val_seed=7)
    assert (meta['build']['num_val'], meta['build']['val_seed']) == (8, 7)
    val, test = _digests(root, 'val'), _digests(root, 'test')
    assert len(val) == 8 and not set(val.values()) & set(test.values())
    assert not set(val.values()) & set(_digests(root, 'train').values())
    desc = _load(root, 'descriptions.json')['classes']
    assert desc['big red circle']['parents'][:2] == ['red circle', 'circle']
    assert 'is big' in desc['big red circle']['attributes']
    assert desc['red round shape']['children'] == ['red circle', 'red ring']
