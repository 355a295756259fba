"""SPML readers of NUS-WIDE (81 concepts, official metadata) and CUB-200-2011
(312 attributes, official files) on generated files, and Cole et al.'s
protocol through SPMLDataset: counts and observed labels."""
import os.path as osp

import numpy as np
import pytest

from granzsl_mm import register_all_modules
from granzsl_mm.datasets import SPMLDataset
from granzsl_mm.datasets.spml.cub_attributes import (
    CUBAttributeDataset,
    read_cub_attribute_labels,
)
from granzsl_mm.datasets.spml.nuswide_multilabel import (
    NUSWideMultiLabelDataset,
)
from tests.fixtures.spml_nus_cub_data import (
    CUB_ATTRIBUTES,
    NUS_CONCEPTS,
    make_tiny_cub,
    make_tiny_nuswide,
)


@pytest.fixture(scope='module')
def data(tmp_path_factory):
    register_all_modules()
    root = tmp_path_factory.mktemp('nuscub')
    nus = make_tiny_nuswide(str(root / 'nus'), num_train=20, num_test=6)
    cub = make_tiny_cub(str(root / 'cub'), num_images=26, num_test=6)
    return dict(nus_root=str(root / 'nus'), nus=nus, cub=cub)


def _reference_protocol(full, seed=1200, val_frac=0.2):
    """Cole et al.'s generator and split, written out from their
    description: per image, RandomState(1200) shuffles the positive indices
    (one kept) then the negative ones; the split keeps the last
    round(0.2 N) of a RandomState(1200) permutation for validation."""
    rng = np.random.RandomState(seed)
    obs = np.zeros_like(full)
    for i, row in enumerate(full):
        pos, neg = np.flatnonzero(row == 1), np.flatnonzero(row == 0)
        rng.shuffle(pos)
        rng.shuffle(neg)
        obs[i, pos[:1]] = 1
    n = len(full)
    n_val = int(np.round(val_frac * n))
    perm = np.random.RandomState(seed).permutation(n)
    return obs, np.sort(perm[:n - n_val]), np.sort(perm[-n_val:])


def _scores(ds):
    return np.stack([ds.get_data_info(i)['gt_score'] for i in range(len(ds))])


def _check_protocol(source_cfg, full, num_classes):
    obs, train_idx, val_idx = _reference_protocol(full)
    train = SPMLDataset(dataset=source_cfg, split='train')
    val = SPMLDataset(dataset=source_cfg, split='val')
    test_full = len(full)
    assert (len(train), len(val)) == (len(train_idx), len(val_idx))
    assert len(train) + len(val) == test_full
    scores = _scores(train)
    assert scores.shape == (len(train_idx), num_classes)
    # one observed positive (none for an image without positives), the rest
    # unknown; equal to the reference's observed matrix row for row
    ours = np.where(scores == 1, 1, 0)
    np.testing.assert_array_equal(ours, obs[train_idx])
    assert set(np.unique(scores)) <= {1.0, -1.0}
    # validation: full labels
    np.testing.assert_array_equal(_scores(val), full[val_idx])
    return train


def test_nuswide_reader_official_metadata(data):
    root, nus = data['nus_root'], data['nus']
    ds = NUSWideMultiLabelDataset(data_root=root, split='train')
    assert ds.metainfo['classes'] == NUS_CONCEPTS
    assert ds.metainfo['unseen_classes'] == []
    assert len(ds) == 20  # images without a concept kept, as the references
    assert [ds.get_data_info(i)['img_path'] for i in range(len(ds))] == [
        osp.join(root, 'Flickr', k) for k in nus['train']['keys']]
    np.testing.assert_array_equal(_scores(ds), nus['train']['labels'])
    test = NUSWideMultiLabelDataset(data_root=root, split='test')
    np.testing.assert_array_equal(_scores(test), nus['test']['labels'])
    dropped = NUSWideMultiLabelDataset(data_root=root, empty_images='drop')
    assert len(dropped) == 18
    with pytest.raises(ValueError, match='split'):
        NUSWideMultiLabelDataset(data_root=root, split='val')


def test_nuswide_spml_protocol(data):
    cfg = dict(type='NUSWideMultiLabelDataset', data_root=data['nus_root'],
               split='train')
    train = _check_protocol(cfg, data['nus']['train']['labels'], 81)
    # the two images without a concept have no observed positive either
    empty = [i for i in range(len(train))
             if not train.get_data_info(i)['true_label']]
    assert all(not train.get_data_info(i)['gt_label'] for i in empty)
    test = SPMLDataset(dataset=dict(cfg, split='test'), split='test')
    assert len(test) == 6


def test_cub_reader_official_files(data):
    cub = data['cub']
    ds = CUBAttributeDataset(data_root=cub['root'], split='train')
    assert ds.metainfo['classes'] == CUB_ATTRIBUTES and len(ds) == 20
    assert [ds.get_data_info(i)['img_path'] for i in range(len(ds))] == [
        osp.join(cub['root'], 'images', f) for f in cub['train']['files']]
    # is_present, whatever the certainty (the references)
    np.testing.assert_array_equal(_scores(ds), cub['train']['present'])
    test = CUBAttributeDataset(data_root=cub['root'], split='test')
    np.testing.assert_array_equal(_scores(test), cub['test']['present'])
    # optional: low-certainty entries unknown
    strict = CUBAttributeDataset(data_root=cub['root'], min_certainty=3)
    expected = np.where(cub['train']['certainty'] < 3, -1,
                        cub['train']['present'].astype(int))
    np.testing.assert_array_equal(_scores(strict), expected)


def test_cub_spml_protocol(data):
    cfg = dict(type='CUBAttributeDataset', data_root=data['cub']['root'],
               split='train')
    _check_protocol(cfg, data['cub']['train']['present'], 312)


def test_cub_label_file_errors(tmp_path):
    path = str(tmp_path / 'labels.txt')
    with open(path, 'w') as f:
        f.write('1 1 1 4 2.0\n1 2 0 1 3.5\n2 1 0 3 1.0\n')
    with pytest.raises(ValueError, match='missing'):
        read_cub_attribute_labels(path, [1, 2], [1, 2])
    with open(path, 'a') as f:
        f.write('2 2 1 5 1.0\n')
    with pytest.raises(ValueError, match='certainty_id 1-4'):
        read_cub_attribute_labels(path, [1, 2], [1, 2])
    with open(path, 'w') as f:
        f.write('1 1 1 4\n')
    with pytest.raises(ValueError, match='expected'):
        read_cub_attribute_labels(path, [1], [1])
    with open(path, 'w') as f:
        f.write('1 1 1 4 2.0\n1 1 0 4 2.0\n')
    with pytest.raises(ValueError, match='twice'):
        read_cub_attribute_labels(path, [1], [1])
