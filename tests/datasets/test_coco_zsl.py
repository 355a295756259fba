"""COCOZSLDataset on a small instances json in the official format."""
import json
import os.path as osp
import pickle

import numpy as np
import pytest

from granzsl_mm import register_all_modules
from granzsl_mm.datasets import (
    COCO80_CLASSES,
    COCO_SEEN_48,
    COCO_UNSEEN_17,
    BadImageError,
    COCOZSLDataset,
)

SHARED = osp.join(osp.dirname(__file__), '..', '..', '..', 'shared', 'data',
                  'coco')
# official COCO 2014 category ids (80 of 1..90)
COCO_IDS = [i for i in range(1, 91)
            if i not in (12, 26, 29, 30, 45, 66, 68, 69, 71, 83)]
CAT_ID = dict(zip(COCO80_CLASSES, COCO_IDS))

# image id -> (file, [category names of its annotations])
IMAGES = {
    10: ('a.jpg', ['person', 'cat']),
    11: ('b.jpg', ['dog', 'dog', 'traffic light']),  # traffic light: unused
    12: ('c.jpg', ['sports ball']),  # only an unused class
    13: ('d.jpg', []),  # no annotation at all
    14: ('e.jpg', ['toothbrush', 'scissors']),
}
# hand-computed: index in seen (48) then unseen (17) order
# person=0, toothbrush=47 (seen); cat=48+2, dog=48+3, scissors=48+16 (unseen)
EXPECTED = {
    'all': [[0, 50], [51], [], [], [47, 64]],
    'seen': [[0], [], [], [], [47]],
    'unseen': [[2], [3], [], [], [16]],
}


def _instances(categories=None, extra_anns=()):
    images, anns = [], []
    for img_id, (name, cats) in IMAGES.items():
        images.append(dict(id=img_id, file_name=name, width=4, height=4))
        for cat in cats:
            anns.append(dict(id=len(anns) + 1, image_id=img_id,
                             category_id=CAT_ID[cat], bbox=[0, 0, 2, 2],
                             area=4.0, iscrowd=int(cat == 'scissors')))
    anns += list(extra_anns)
    cats = categories or [dict(id=i, name=n, supercategory='x')
                          for n, i in CAT_ID.items()]
    return dict(images=images, annotations=anns, categories=cats)


def _write_images(img_dir, names=None):
    from PIL import Image
    img_dir.mkdir(parents=True, exist_ok=True)
    for name, _ in (names or IMAGES.values()):
        Image.fromarray(np.full((4, 4, 3), 128, np.uint8)).save(
            str(img_dir / name), format='JPEG')


@pytest.fixture
def coco_root(tmp_path):
    root = tmp_path / 'coco'
    (root / 'annotations').mkdir(parents=True)
    (root / 'annotations' / 'instances_val2014_gzsi_48_17.json').write_text(
        json.dumps(_instances()))
    _write_images(root / 'val2014')
    # the papers' split file: 0-based indices into the 80 sorted categories
    with open(root / 'cls_ids.pickle', 'wb') as f:
        pickle.dump({'train': {COCO80_CLASSES.index(n) for n in COCO_SEEN_48},
                     'test': {COCO80_CLASSES.index(n) for n in COCO_UNSEEN_17},
                     'val': set()}, f)
    (root / 'split.json').write_text(json.dumps(
        {'seen': list(COCO_SEEN_48), 'unseen': list(COCO_UNSEEN_17)}))
    return root


def _build(root, **kw):
    args = dict(data_root=str(root),
                ann_file='annotations/instances_val2014_gzsi_48_17.json',
                data_prefix=dict(img_path='val2014'),
                split_file='cls_ids.pickle')
    args.update(kw)
    return COCOZSLDataset(**args)


@pytest.mark.parametrize('label_set', ['all', 'seen', 'unseen'])
def test_labels_and_metainfo(coco_root, label_set):
    ds = _build(coco_root, label_set=label_set)
    meta = ds.metainfo
    seen = list(COCO_SEEN_48) if label_set != 'unseen' else []
    unseen = list(COCO_UNSEEN_17) if label_set != 'seen' else []
    assert meta['seen_classes'] == seen and meta['unseen_classes'] == unseen
    assert meta['classes'] == seen + unseen
    assert len(ds) == 5
    for i, (name, _) in enumerate(IMAGES.values()):
        info = ds.get_data_info(i)
        assert info['img_path'] == str(coco_root / 'val2014' / name)
        assert info['gt_label'] == EXPECTED[label_set][i]
        want = np.zeros(len(seen + unseen), np.float32)
        want[EXPECTED[label_set][i]] = 1
        np.testing.assert_array_equal(info['gt_score'], want)
        assert info['gt_score'].dtype == np.float32


def test_json_split_equals_pickle_split(coco_root):
    a = _build(coco_root)
    b = _build(coco_root, split_file=str(coco_root / 'split.json'))  # abs
    c = _build(coco_root, split_file=None,
               classes=dict(seen=COCO_SEEN_48, unseen=COCO_UNSEEN_17))
    assert a.metainfo == b.metainfo == c.metainfo
    for i in range(len(a)):
        assert (a.get_data_info(i)['gt_label'] == b.get_data_info(i)['gt_label']
                == c.get_data_info(i)['gt_label'])


def test_released_json_with_only_split_categories(coco_root):
    """A json listing only the 65 split categories (ids unchanged) still
    reads with the pickle (indices are into the 80 standard categories)."""
    keep = set(COCO_SEEN_48 + COCO_UNSEEN_17)
    inst = _instances(categories=[dict(id=CAT_ID[n], name=n) for n in keep])
    inst['annotations'] = [a for a in inst['annotations']
                           if a['category_id'] in {CAT_ID[n] for n in keep}]
    (coco_root / 'sub.json').write_text(json.dumps(inst))
    ds = _build(coco_root, ann_file='sub.json')
    assert [ds.get_data_info(i)['gt_label'] for i in range(5)] == \
        EXPECTED['all']


def test_shared_released_split_file():
    split = osp.join(SHARED, 'cls_ids.pickle')
    cats = osp.join(SHARED, 'categories.json')
    if not (osp.isfile(split) and osp.isfile(cats)):
        pytest.skip('../shared/data/coco files are not available')
    from granzsl_mm.datasets import read_class_split
    seen, unseen = read_class_split(split, cats)
    assert (tuple(seen), tuple(unseen)) == (COCO_SEEN_48, COCO_UNSEEN_17)
    with open(cats) as f:
        names = [c['name'] for c in sorted(json.load(f), key=lambda c: c['id'])]
    assert tuple(names) == COCO80_CLASSES


def test_shared_pickle_in_dataset(coco_root):
    split = osp.join(SHARED, 'cls_ids.pickle')
    if not osp.isfile(split):
        pytest.skip('../shared/data/coco/cls_ids.pickle is not available')
    ds = _build(coco_root, split_file=osp.abspath(split))
    assert ds.metainfo['seen_classes'] == list(COCO_SEEN_48)
    assert [ds.get_data_info(i)['gt_label'] for i in range(5)] == \
        EXPECTED['all']


@pytest.mark.parametrize('label_set,kept', [
    ('all', [0, 1, 4]), ('seen', [0, 4]), ('unseen', [0, 1, 4])])
def test_drop_empty_images(coco_root, label_set, kept):
    ds = _build(coco_root, label_set=label_set, empty_images='drop')
    assert [ds.get_data_info(i)['gt_label'] for i in range(len(ds))] == \
        [EXPECTED[label_set][k] for k in kept]
    assert ds.num_dropped_empty == 5 - len(kept)


def test_pipeline_packs_scores(coco_root):
    register_all_modules()
    ds = _build(coco_root, pipeline=[dict(type='LoadImageFromFile'),
                                     dict(type='PackInputs')])
    sample = ds[4]['data_samples']
    assert sample.gt_score.tolist() == [
        1.0 if k in (47, 64) else 0.0 for k in range(65)]
    assert sorted(sample.gt_label.tolist()) == [47, 64]


def test_missing_image_error_and_skip(coco_root):
    (coco_root / 'val2014' / 'b.jpg').unlink()
    with pytest.raises(BadImageError, match=r'b\.jpg.*missing|missing.*b\.jpg'):
        _build(coco_root)
    ds = _build(coco_root, bad_images='skip')
    assert len(ds) == 4
    assert ds.skipped_images == [str(coco_root / 'val2014' / 'b.jpg')]
    assert [ds.get_data_info(i)['gt_label'] for i in range(4)] == \
        [EXPECTED['all'][k] for k in (0, 2, 3, 4)]
    # not checked up front: the loader error names the file
    register_all_modules()
    ds = _build(coco_root, check_images='none',
                pipeline=[dict(type='LoadImageFromFile')], test_mode=True)
    with pytest.raises(BadImageError, match=r'b\.jpg'):
        ds[1]


def test_corrupt_image_verify_and_fetch(coco_root):
    (coco_root / 'val2014' / 'c.jpg').write_bytes(b'not an image at all')
    with pytest.raises(BadImageError, match=r'c\.jpg \(unreadable'):
        _build(coco_root, check_images='verify')
    ds = _build(coco_root, check_images='verify', bad_images='skip')
    assert len(ds) == 4 and ds.skipped_images[0].endswith('c.jpg')
    register_all_modules()
    ds = _build(coco_root, pipeline=[dict(type='LoadImageFromFile')],
                test_mode=True)  # 'exists' passes: the error comes at fetch
    with pytest.raises(BadImageError, match=r'c\.jpg'):
        ds[2]


def test_annotation_file_missing_or_not_json(coco_root):
    with pytest.raises(FileNotFoundError, match='nope.json'):
        _build(coco_root, ann_file='nope.json')
    (coco_root / 'broken.json').write_text('{"images": [')
    with pytest.raises(ValueError, match='broken.json.*JSON|JSON.*broken.json'):
        _build(coco_root, ann_file='broken.json')
    (coco_root / 'other.json').write_text(json.dumps({'data_list': []}))
    with pytest.raises(ValueError, match='not a COCO instances file'):
        _build(coco_root, ann_file='other.json')


def test_unknown_category_id(coco_root):
    bad = dict(id=999, image_id=10, category_id=12, bbox=[0, 0, 1, 1],
               area=1.0, iscrowd=0)  # 12 is not a COCO category id
    (coco_root / 'bad.json').write_text(json.dumps(_instances(
        extra_anns=[bad])))
    with pytest.raises(ValueError, match=r'category ids.*\[12\]'):
        _build(coco_root, ann_file='bad.json')


def test_split_names_not_in_categories(coco_root):
    (coco_root / 'wrong.json').write_text(json.dumps(
        {'seen': ['person', 'tvmonitor'], 'unseen': ['cat', 'sofa']}))
    with pytest.raises(ValueError, match=r"\['tvmonitor', 'sofa'\]"):
        _build(coco_root, split_file='wrong.json')
    with pytest.raises(FileNotFoundError, match='missing_split.json'):
        _build(coco_root, split_file='missing_split.json')


def test_bad_options(coco_root):
    with pytest.raises(ValueError, match='label_set'):
        _build(coco_root, label_set='zsl')
    with pytest.raises(ValueError, match='empty_images'):
        _build(coco_root, empty_images='maybe')
    with pytest.raises(ValueError, match='bad_images'):
        _build(coco_root, bad_images='ignore')
    with pytest.raises(ValueError, match='exactly one'):
        _build(coco_root, split_file=None)


def test_base_dataset_config_builds(coco_root):
    """configs/_base_/datasets/coco_zsl.py: the GZSL and ZSL test sets."""
    from mmengine.config import Config

    from granzsl_mm.registry import DATASETS
    register_all_modules()
    cfg = Config.fromfile(osp.join(osp.dirname(__file__), '..', '..',
                                   'configs', '_base_', 'datasets',
                                   'coco_zsl.py'))
    (coco_root / 'annotations' / 'instances_val2014_unseen_48_17.json'
     ).write_text(json.dumps(_instances()))
    gzsl = DATASETS.build(dict(cfg.test_dataloader.dataset,
                               data_root=str(coco_root)))
    zsl = DATASETS.build(dict(cfg.zsl_test_dataloader.dataset,
                              data_root=str(coco_root)))
    assert [gzsl.get_data_info(i)['gt_label'] for i in range(5)] == \
        EXPECTED['all']
    assert zsl.metainfo['classes'] == list(COCO_UNSEEN_17)
    assert [zsl.get_data_info(i)['gt_label'] for i in range(5)] == \
        EXPECTED['unseen']
    assert cfg.train_dataloader.dataset.label_set == 'seen'
