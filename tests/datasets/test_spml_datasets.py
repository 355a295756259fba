"""SPML readers (VOC image sets, COCO instances) and the protocol wrapper,
checked against the generated fixtures and hand-made files."""
import os
import os.path as osp

import numpy as np
import pytest

from granzsl_mm import register_all_modules
from granzsl_mm.datasets import (
    COCO80_CLASSES,
    VOC_CLASSES,
    BadImageError,
    COCOMultiLabelDataset,
    SPMLDataset,
    VOCMultiLabelDataset,
    load_pseudo_labels,
    observe_single_positives,
    pseudo_label_key,
    save_pseudo_labels,
    train_val_split,
)
from tests.fixtures.spml_data import coco_category_ids, make_tiny_coco, make_tiny_voc


@pytest.fixture(scope='module')
def data(tmp_path_factory):
    register_all_modules()
    root = tmp_path_factory.mktemp('spml')
    voc = make_tiny_voc(str(root / 'voc'), num_train=20, num_val=6)
    coco = make_tiny_coco(str(root / 'coco'), num_train=20, num_val=6)
    return dict(voc_root=str(root / 'voc' / 'VOCdevkit' / 'VOC2012'),
                coco_root=str(root / 'coco'), voc=voc, coco=coco)


def _voc(data, **kwargs):
    return VOCMultiLabelDataset(data_root=data['voc_root'], **kwargs)


def _coco_cfg(data, split='train'):
    return dict(type='COCOMultiLabelDataset', data_root=data['coco_root'],
                ann_file=f'annotations/instances_{split}2014.json',
                data_prefix=dict(img_path=f'{split}2014'))


# ----------------------------------------------------------------- protocol
def test_single_positive_replays_reference_generator():
    """Per image: shuffle the positive indices, keep the first, shuffle the
    negative indices (observing none) with one RandomState(1200)."""
    rng = np.random.default_rng(3)
    full = (rng.random((50, 7)) < 0.4).astype(np.int8)
    full[5] = 0  # an image without positives keeps none
    observed = observe_single_positives(full, seed=1200)
    ref_rng = np.random.RandomState(1200)
    for i, row in enumerate(full):
        pos, neg = np.flatnonzero(row == 1), np.flatnonzero(row == 0)
        ref_rng.shuffle(pos)
        ref_rng.shuffle(neg)
        expected = np.full(7, -1)
        expected[pos[:1]] = 1
        assert observed[i].tolist() == expected.tolist()
    assert (observed[5] == -1).all()
    assert not np.array_equal(observe_single_positives(full, seed=1),
                              observed)


def test_single_positive_is_uniform():
    full = np.zeros((3000, 4), dtype=np.int8)
    full[:, :3] = 1
    counts = (observe_single_positives(full) == 1).sum(0)
    assert counts[3] == 0 and counts.sum() == 3000
    assert np.all(np.abs(counts[:3] - 1000) < 120), counts


def test_train_val_split():
    train, val = train_val_split(23, 0.2, seed=1200)
    assert len(val) == round(0.2 * 23) == 5 and len(train) == 18
    assert sorted(np.concatenate([train, val]).tolist()) == list(range(23))
    perm = np.random.RandomState(1200).permutation(23)
    assert val.tolist() == sorted(perm[-5:].tolist())
    assert train.tolist() == sorted(perm[:18].tolist())
    train, val = train_val_split(4, 0.1)  # round(0.4) = 0: no validation
    assert len(val) == 0 and train.tolist() == [0, 1, 2, 3]
    with pytest.raises(ValueError, match='val_fraction'):
        train_val_split(10, 1.0)


# ----------------------------------------------------------------- VOC
def _write_voc(root, rows):
    """rows: image id -> {class index: flag}; other classes -1."""
    main = osp.join(root, 'ImageSets', 'Main')
    os.makedirs(main, exist_ok=True)
    for c, name in enumerate(VOC_CLASSES):
        with open(osp.join(main, f'{name}_train.txt'), 'w') as f:
            for img, flags in rows.items():
                f.write(f'{img} {flags.get(c, -1):2d}\n')
    return root


def test_voc_reader_matches_lists(data):
    ds = _voc(data, split='train', check_images='exists')
    table = data['voc']['train']
    assert len(ds) == 20 and ds.metainfo['classes'] == list(VOC_CLASSES)
    for i, (image_id, flags) in enumerate(sorted(table.items())):
        info = ds.get_data_info(i)
        assert info['img_path'] == osp.join(data['voc_root'], 'JPEGImages',
                                            image_id + '.jpg')
        expected = [1.0 if flags[c] == 1 else 0.0 for c in range(20)]
        assert info['gt_score'].tolist() == expected
    assert len(_voc(data, split='val')) == 6
    assert len(_voc(data, split='trainval')) == 26


def test_voc_difficult_and_empty_images(tmp_path):
    root = _write_voc(str(tmp_path), {
        '2008_000003': {0: 1, 2: 0},
        '2008_000001': {1: 0},           # only 'difficult': no positive
        '2008_000002': {0: 1, 1: 1}})
    kw = dict(data_root=root, split='train', check_images='none')
    neg = VOCMultiLabelDataset(**kw)
    assert [osp.basename(neg.get_data_info(i)['img_path'])
            for i in range(len(neg))] == ['2008_000002.jpg', '2008_000003.jpg']
    assert neg.get_data_info(1)['gt_score'][:3].tolist() == [1, 0, 0]
    unk = VOCMultiLabelDataset(difficult_as='unknown', **kw)
    assert len(unk) == 2
    assert unk.get_data_info(1)['gt_score'][:3].tolist() == [1, 0, -1]
    pos = VOCMultiLabelDataset(difficult_as='positive', **kw)
    assert len(pos) == 3
    assert pos.get_data_info(0)['gt_score'][:3].tolist() == [0, 1, 0]
    keep = VOCMultiLabelDataset(empty_images='keep', **kw)
    assert len(keep) == 3
    assert keep.get_data_info(0)['gt_score'].sum() == 0


def test_voc_bad_input(tmp_path):
    with pytest.raises(FileNotFoundError, match='aeroplane_train.txt'):
        VOCMultiLabelDataset(data_root=str(tmp_path), check_images='none')
    root = _write_voc(str(tmp_path / 'a'), {'2008_000001': {0: 1}})
    with open(osp.join(root, 'ImageSets', 'Main', 'cat_train.txt'), 'a') as f:
        f.write('2008_000002 2\n')
    with pytest.raises(ValueError, match=r'cat_train.txt:2'):
        VOCMultiLabelDataset(data_root=root, check_images='none')
    with pytest.raises(ValueError, match='difficult_as'):
        VOCMultiLabelDataset(data_root=root, difficult_as='maybe')
    good = _write_voc(str(tmp_path / 'b'), {'2008_000001': {0: 1}})
    with pytest.raises(BadImageError, match='2008_000001.jpg'):
        VOCMultiLabelDataset(data_root=good)  # the image is missing


# ----------------------------------------------------------------- COCO
def test_coco_reader_order_and_labels(data):
    ds = COCOMultiLabelDataset(**{k: v for k, v in _coco_cfg(data).items()
                                  if k != 'type'})
    labels = data['coco']['train']
    with_ann = [i for i in labels if labels[i]]
    assert len(ds) == len(with_ann) == 20  # the empty image is dropped
    ids = [int(osp.basename(ds.get_data_info(i)['img_path'])[-16:-4])
           for i in range(len(ds))]
    assert ids == sorted(with_ann, key=str) != sorted(with_ann)
    for i, img_id in enumerate(ids):
        score = ds.get_data_info(i)['gt_score']
        assert np.flatnonzero(score == 1).tolist() == labels[img_id]
        assert set(score.tolist()) <= {0.0, 1.0}
    assert ds.metainfo['classes'] == list(COCO80_CLASSES)
    assert coco_category_ids()[-1] == 90
    keep = COCOMultiLabelDataset(empty_images='keep', **{
        k: v for k, v in _coco_cfg(data).items() if k != 'type'})
    assert len(keep) == 21


# ----------------------------------------------------------------- wrapper
@pytest.mark.slow
def test_spml_splits(data):
    source = _coco_cfg(data)
    train = SPMLDataset(dataset=source, split='train')
    val = SPMLDataset(dataset=source, split='val')
    single_val = SPMLDataset(dataset=source, split='val', val_labels='single')
    test = SPMLDataset(dataset=_coco_cfg(data, 'val'), split='test')
    assert (len(train), len(val), len(test)) == (16, 4, 6)
    paths = lambda d: [d.get_data_info(i)['img_path']  # noqa: E731
                       for i in range(len(d))]
    assert not set(paths(train)) & set(paths(val))
    full = COCOMultiLabelDataset(**{k: v for k, v in source.items()
                                    if k != 'type'})
    full_paths = paths(full)
    full_scores = np.stack([full.get_data_info(i)['gt_score']
                            for i in range(len(full))])
    observed = observe_single_positives(full_scores, seed=1200)
    train_idx, val_idx = train_val_split(20, 0.2, 1200)
    assert paths(train) == [full_paths[i] for i in train_idx]
    assert paths(val) == [full_paths[i] for i in val_idx]
    for i, k in enumerate(train_idx):
        score = train.get_data_info(i)['gt_score']
        assert (score == 1).sum() == 1 and set(score.tolist()) == {1.0, -1.0}
        assert score.tolist() == observed[k].astype(float).tolist()
        assert full_scores[k][score == 1] == 1  # a true positive
    for i, k in enumerate(val_idx):
        assert val.get_data_info(i)['gt_score'].tolist() == \
            full_scores[k].tolist()
        assert single_val.get_data_info(i)['gt_score'].tolist() == \
            observed[k].astype(float).tolist()
    assert set(test.get_data_info(0)['gt_score'].tolist()) <= {0.0, 1.0}
    assert train.metainfo['classes'] == list(COCO80_CLASSES)
    again = SPMLDataset(dataset=source, split='train')
    assert [again.get_data_info(i)['gt_label'] for i in range(16)] == \
        [train.get_data_info(i)['gt_label'] for i in range(16)]


def test_spml_wraps_voc_with_difficult_unknown(data):
    src = dict(type='VOCMultiLabelDataset', data_root=data['voc_root'],
               difficult_as='unknown')
    val = SPMLDataset(dataset=src, split='val')
    scores = np.stack([val.get_data_info(i)['gt_score']
                       for i in range(len(val))])
    assert (scores == -1).any()  # difficult stays unknown in full labels
    train = SPMLDataset(dataset=src, split='train')
    assert all((train.get_data_info(i)['gt_score'] == 1).sum() == 1
               for i in range(len(train)))


def test_spml_pseudo_labels(data, tmp_path):
    source = _coco_cfg(data)
    train = SPMLDataset(dataset=source, split='train')
    root = data['coco_root']
    keys = [pseudo_label_key(train.get_data_info(i)['img_path'], root)
            for i in range(len(train))]
    assert keys[0].startswith('train2014/COCO_train2014_')
    soft = np.full((16, 80), np.nan, dtype=np.float32)
    soft[:, 3] = 0.9
    soft[2, 7] = 0.0
    path = save_pseudo_labels(str(tmp_path / 'pl.npz'), keys, soft,
                              COCO80_CLASSES, meta=dict(temperature=0.01))
    assert load_pseudo_labels(path)['meta'] == dict(temperature=0.01)
    pipeline = [dict(type='PackInputs', algorithm_keys=('soft_targets', ))]
    with_pl = SPMLDataset(dataset=source, split='train',
                          pseudo_label_file=path, pipeline=pipeline)
    info = with_pl.get_data_info(2)
    assert info['soft_targets'][3] == pytest.approx(0.9)
    assert info['soft_targets'][7] == 0.0
    assert np.isnan(info['soft_targets'][0])
    sample = with_pl[2]['data_samples']
    assert sample.soft_targets.shape == (80, )
    # a file missing images, or for other classes: clear errors
    save_pseudo_labels(str(tmp_path / 'few.npz'), keys[:3], soft[:3],
                       COCO80_CLASSES)
    with pytest.raises(ValueError, match='no pseudo-labels for 13 of 16'):
        SPMLDataset(dataset=source, split='train',
                    pseudo_label_file=str(tmp_path / 'few.npz'))
    save_pseudo_labels(str(tmp_path / 'cls.npz'), keys, soft[:, :80],
                       [f'c{i}' for i in range(80)])
    with pytest.raises(ValueError, match='differ from the dataset classes'):
        SPMLDataset(dataset=source, split='train',
                    pseudo_label_file=str(tmp_path / 'cls.npz'))
    with pytest.raises(FileNotFoundError, match='generate_pseudo_labels'):
        SPMLDataset(dataset=source, split='train',
                    pseudo_label_file=str(tmp_path / 'none.npz'))
    with pytest.raises(ValueError, match='training split'):
        SPMLDataset(dataset=source, split='val', pseudo_label_file=path)


def test_spml_bad_arguments(data):
    source = _coco_cfg(data)
    with pytest.raises(ValueError, match='split'):
        SPMLDataset(dataset=source, split='trainval')
    with pytest.raises(ValueError, match='val_labels'):
        SPMLDataset(dataset=source, split='val', val_labels='clean')
    with pytest.raises(TypeError, match='BaseDataset'):
        SPMLDataset(dataset=[1, 2], split='train')
