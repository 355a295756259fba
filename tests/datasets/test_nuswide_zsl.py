"""NUSWideZSLDataset on small NUS-WIDE metadata in the official formats."""
import json
import os.path as osp
import pickle

import numpy as np
import pytest

from granzsl_mm.datasets import (
    BadImageError,
    NUSWideZSLDataset,
    read_zsl_classes,
    write_nuswide_metadata,
)
from granzsl_mm.datasets.zsl.nuswide_metadata import (
    image_key,
    read_binary_matrix,
    rows_to_positives,
)

SHARED = osp.join(osp.dirname(__file__), '..', '..', '..', 'shared', 'data',
                  'nuswide')
TAGS = ['nature', 'sky', 'beach', 'blue', 'dog', 'water', 'cat', 'sunset']
CONCEPTS = ['airport', 'beach', 'cat', 'dog']  # 3 overlap with the tags
SEEN = ['nature', 'sky', 'blue', 'water', 'sunset']  # indices 0..4
# unseen (full index): airport 5, beach 6, cat 7, dog 8
# key, train?, tags, concepts (Imagelist order)
IMAGES = [
    ('actor/0001_1.jpg', True, ['nature', 'sky', 'dog'], ['dog']),
    ('actor/0002_2.jpg', False, ['beach', 'blue'], ['beach', 'airport']),
    ('zoos/0001_3.jpg', True, [], []),
    ('zoos/0002_4.jpg', False, ['water', 'sunset', 'cat'], ['cat']),
    ('zoos/0003_5.jpg', False, ['sky'], []),
    ('beach/0001_6.jpg', True, [], ['beach']),
]
# hand-computed labels, in the official list order of each split
EXPECTED = {
    ('test', 'all'): [[2, 5, 6], [3, 4, 7], [1]],
    ('test', 'seen'): [[2], [3, 4], [1]],
    ('test', 'unseen'): [[0, 1], [2], []],
    ('train', 'all'): [[0, 1, 8], [], [6]],
    ('train', 'seen'): [[0, 1], [], []],
}
TEST_KEYS = ['actor/0002_2.jpg', 'zoos/0002_4.jpg', 'zoos/0003_5.jpg']
TRAIN_KEYS = ['actor/0001_1.jpg', 'zoos/0001_3.jpg', 'beach/0001_6.jpg']


def _matrices():
    tags = np.zeros((len(IMAGES), len(TAGS)), np.uint8)
    concepts = np.zeros((len(IMAGES), len(CONCEPTS)), np.uint8)
    for i, (_, _, t, c) in enumerate(IMAGES):
        tags[i, [TAGS.index(x) for x in t]] = 1
        concepts[i, [CONCEPTS.index(x) for x in c]] = 1
    return tags, concepts


def _write_images(root, keys):
    from PIL import Image
    for key in keys:
        path = root / 'Flickr' / key
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(str(path),
                                                             format='JPEG')


@pytest.fixture
def nus_root(tmp_path):
    root = tmp_path / 'nus_wide'
    tags, concepts = _matrices()
    write_nuswide_metadata(str(root), TAGS, CONCEPTS, [k for k, *_ in IMAGES],
                           [t for _, t, *_ in IMAGES], tags, concepts)
    _write_images(root, [k for k, *_ in IMAGES])
    return root


def _signed_pickles(root, unknown_nature=True, seen_extra=None,
                    unseen_keys=None):
    """The papers' pickles for the test images: signed vectors."""
    tags, concepts = _matrices()
    seen, unseen = {}, {}
    for i, (key, train, _, _) in enumerate(IMAGES):
        if train:
            continue
        vec = np.where(tags[i] == 1, 1, -1).astype(np.float32)
        vec[[TAGS.index(c) for c in CONCEPTS if c in TAGS]] = 0  # overlap
        if unknown_nature and key == 'zoos/0002_4.jpg':
            vec[TAGS.index('nature')] = 0  # an unknown seen label
        seen['Flickr/' + key] = vec
        unseen['C:\\ImageData\\Flickr\\' + key.replace('/', '\\')] = \
            np.where(concepts[i] == 1, 1, -1).astype(np.int64)
    seen.update(seen_extra or {})
    if unseen_keys is not None:
        unseen = {k: v for k, v in unseen.items() if image_key(k) in
                  unseen_keys}
    # unseen pickle in another order than the seen one
    unseen = dict(reversed(list(unseen.items())))
    for name, data in (('test_seen_labels.pkl', seen),
                       ('test_unseen_labels.pkl', unseen)):
        with open(root / name, 'wb') as f:
            pickle.dump(data, f)


def _labels(ds):
    return [ds.get_data_info(i)['gt_label'] for i in range(len(ds))]


@pytest.mark.parametrize('split,label_set', list(EXPECTED))
def test_official_metadata(nus_root, split, label_set):
    ds = NUSWideZSLDataset(data_root=str(nus_root), split=split,
                           label_set=label_set)
    meta = ds.metainfo
    seen = SEEN if label_set != 'unseen' else []
    unseen = CONCEPTS if label_set != 'seen' else []
    assert (meta['seen_classes'], meta['unseen_classes']) == (seen, unseen)
    assert meta['classes'] == seen + unseen
    keys = TEST_KEYS if split == 'test' else TRAIN_KEYS
    assert [ds.get_data_info(i)['img_path'] for i in range(len(ds))] == \
        [str(nus_root / 'Flickr' / k) for k in keys]
    assert _labels(ds) == EXPECTED[(split, label_set)]
    want = np.zeros(len(seen + unseen), np.float32)
    want[EXPECTED[(split, label_set)][0]] = 1
    np.testing.assert_array_equal(ds.get_data_info(0)['gt_score'], want)


def test_official_lists_sorted_differently(nus_root):
    """Split lists are matched to Imagelist rows by path, not by position."""
    lst = nus_root / 'ImageList' / 'TestImagelist.txt'
    lines = lst.read_text().splitlines()
    lst.write_text('\r\n'.join(reversed(lines)) + '\r\n')
    ds = NUSWideZSLDataset(data_root=str(nus_root), split='test')
    assert _labels(ds) == EXPECTED[('test', 'all')][::-1]


def test_papers_pickles(nus_root):
    _signed_pickles(nus_root)
    ds = NUSWideZSLDataset(data_root=str(nus_root), labels_from='pickles')
    by_path = {ds.get_data_info(i)['img_path']: ds.get_data_info(i)
               for i in range(len(ds))}
    assert len(by_path) == 3
    for key, want in zip(TEST_KEYS, EXPECTED[('test', 'all')]):
        assert by_path[str(nus_root / 'Flickr' / key)]['gt_label'] == want
    info = by_path[str(nus_root / 'Flickr' / 'zoos/0002_4.jpg')]
    # positives water(3), sunset(4), cat(7); nature(0) unknown; rest 0
    want = np.zeros(9, np.float32)
    want[[3, 4, 7]] = 1
    want[0] = -1
    np.testing.assert_array_equal(info['gt_score'], want)
    seen = NUSWideZSLDataset(data_root=str(nus_root), labels_from='pickles',
                             label_set='seen')
    unseen = NUSWideZSLDataset(data_root=str(nus_root), labels_from='pickles',
                               label_set='unseen')
    assert sorted(map(tuple, _labels(seen))) == sorted(
        map(tuple, EXPECTED[('test', 'seen')]))
    assert sorted(map(tuple, _labels(unseen))) == sorted(
        map(tuple, EXPECTED[('test', 'unseen')]))
    assert seen.get_data_info(0)['gt_score'].shape == (5, )


def test_pickle_errors(nus_root):
    _signed_pickles(nus_root, seen_extra={'x/y.jpg': np.zeros(7)})
    with pytest.raises(ValueError, match='has 7 slots, expected 8'):
        NUSWideZSLDataset(data_root=str(nus_root), labels_from='pickles')
    _signed_pickles(nus_root, unseen_keys=TEST_KEYS[:2])
    with pytest.raises(ValueError, match='different images.*zoos/0003_5'):
        NUSWideZSLDataset(data_root=str(nus_root), labels_from='pickles')
    _signed_pickles(nus_root, seen_extra={'x/y.jpg': np.full(8, 2.0)})
    with pytest.raises(ValueError, match=r'values must be in .*\[2(\.0)?\]'):
        NUSWideZSLDataset(data_root=str(nus_root), labels_from='pickles',
                          label_set='seen')
    (nus_root / 'test_unseen_labels.pkl').unlink()
    with pytest.raises(FileNotFoundError, match='test_unseen_labels.pkl'):
        NUSWideZSLDataset(data_root=str(nus_root), labels_from='pickles',
                          label_set='unseen')


def test_missing_images_error_or_skip(nus_root):
    (nus_root / 'Flickr' / 'zoos' / '0002_4.jpg').unlink()
    with pytest.raises(BadImageError,
                       match=r'1 of 3 listed images.*1 missing.*0002_4\.jpg'):
        NUSWideZSLDataset(data_root=str(nus_root))
    ds = NUSWideZSLDataset(data_root=str(nus_root), bad_images='skip')
    assert ds.skipped_images == [str(nus_root / 'Flickr' / 'zoos/0002_4.jpg')]
    assert _labels(ds) == [[2, 5, 6], [1]]
    ds = NUSWideZSLDataset(data_root=str(nus_root), check_images='none')
    assert len(ds) == 3


def test_empty_images_dropped(nus_root):
    ds = NUSWideZSLDataset(data_root=str(nus_root), split='train',
                           label_set='seen', empty_images='drop')
    assert _labels(ds) == [[0, 1]] and ds.num_dropped_empty == 2


def test_metadata_errors(nus_root):
    root = str(nus_root)
    lst = nus_root / 'ImageList' / 'TestImagelist.txt'
    lst.write_text(lst.read_text() + 'zoos\\9999_9.jpg\r\n')
    with pytest.raises(ValueError, match=r'not in Imagelist.*zoos/9999_9'):
        NUSWideZSLDataset(data_root=root)
    lst.write_text('actor\\0002_2.jpg\r\n')
    tags = nus_root / 'NUS_WID_Tags' / 'AllTags1k.txt'
    good = tags.read_bytes()
    tags.write_bytes(good[:-5] + b'\r\n')  # last row short of 2 values
    with pytest.raises(ValueError, match='AllTags1k.txt.*8 values'):
        NUSWideZSLDataset(data_root=root, label_set='seen')
    tags.write_bytes(good.replace(b'1', b'x', 1))
    with pytest.raises(ValueError, match=r"AllTags1k.txt: expected 0/1.*'x'"):
        NUSWideZSLDataset(data_root=root, label_set='seen')
    tags.write_bytes(good[:good.index(b'\n') + 1])  # one row for six images
    with pytest.raises(ValueError, match='has 1 rows, expected 6'):
        NUSWideZSLDataset(data_root=root, label_set='seen')
    tags.write_bytes(good)
    (nus_root / 'Groundtruth' / 'AllLabels' / 'Labels_cat.txt').unlink()
    with pytest.raises(FileNotFoundError, match="'cat'.*Labels_cat.txt"):
        NUSWideZSLDataset(data_root=root, label_set='unseen')
    (nus_root / 'ConceptsList' / 'Concepts81.txt').unlink()
    with pytest.raises(FileNotFoundError, match='Concepts81.txt'):
        NUSWideZSLDataset(data_root=root)


def test_flat_layout_and_bad_options(nus_root):
    """Metadata files directly under the root (the papers' ANNO_PATH)."""
    import shutil
    for sub in ('NUS_WID_Tags', 'ConceptsList'):
        for f in (nus_root / sub).iterdir():
            shutil.move(str(f), str(nus_root / f.name))
    assert read_zsl_classes(str(nus_root))[1:] == (SEEN, CONCEPTS)
    with pytest.raises(ValueError, match='labels_from'):
        NUSWideZSLDataset(data_root=str(nus_root), labels_from='csv')
    with pytest.raises(ValueError, match='split'):
        NUSWideZSLDataset(data_root=str(nus_root), split='val')
    with pytest.raises(ValueError, match='needs ann_file'):
        NUSWideZSLDataset(data_root=str(nus_root), labels_from='ann_file')


def test_ann_file_errors(nus_root):
    with pytest.raises(FileNotFoundError, match='nope.json'):
        NUSWideZSLDataset(data_root=str(nus_root), ann_file='nope.json')
    (nus_root / 'bad.json').write_text('[1, 2')
    with pytest.raises(ValueError, match='bad.json'):
        NUSWideZSLDataset(data_root=str(nus_root), ann_file='bad.json')
    (nus_root / 'other.json').write_text(json.dumps({'data_list': []}))
    with pytest.raises(ValueError, match='not a granzsl_mm.zsl_multilabel'):
        NUSWideZSLDataset(data_root=str(nus_root), ann_file='other.json')


def test_shared_tag_and_concept_lists():
    if not (osp.isfile(osp.join(SHARED, 'TagList1k.txt'))
            and osp.isfile(osp.join(SHARED, 'Concepts81.txt'))):
        pytest.skip('../shared/data/nuswide files are not available')
    tags, seen, unseen = read_zsl_classes(SHARED)
    assert (len(tags), len(seen), len(unseen)) == (1000, 925, 81)
    assert len(seen) + len(unseen) == 1006
    assert not set(seen) & set(unseen)
    assert all('\r' not in t for t in tags + unseen)
    assert seen == [t for t in tags if t not in set(unseen)]


def test_binary_matrix_reader_chunks(tmp_path):
    """Chunked reading gives the same rows/cols as a direct parse."""
    from granzsl_mm.datasets.zsl.nuswide_writer import binary_matrix_bytes
    rng = np.random.default_rng(0)
    mat = (rng.random((57, 13)) < 0.3).astype(np.uint8)
    path = tmp_path / 'm.txt'
    layouts = [
        binary_matrix_bytes(mat, sep=b'\t'),  # 0\t1\r\n
        b''.join(b' '.join(b'%d' % v for v in r) + b'\n' for r in mat),
        b''.join(b'\t'.join(b'%d' % v for v in r) + b'\t\r\n' for r in mat),
        # irregular whitespace, no final newline: the general parser
        b''.join(b'  '.join(b'%d' % v for v in r) + b' \r\n'
                 for r in mat)[:-2],
    ]
    rows, cols = [40, 3, 56, 3], [12, 0, 5]
    for text in layouts:
        path.write_bytes(text)
        for chunk in (7, 26, 100, 1 << 20):
            got = read_binary_matrix(str(path), 13, rows=rows, cols=cols,
                                     num_rows=57, chunk_bytes=chunk)
            np.testing.assert_array_equal(got, mat[rows][:, cols])
        np.testing.assert_array_equal(read_binary_matrix(str(path), 13), mat)
    assert rows_to_positives(mat[:3]) == [np.flatnonzero(r).tolist()
                                          for r in mat[:3]]
    assert rows_to_positives(mat[:0]) == []


def test_base_dataset_config_builds(nus_root):
    """configs/_base_/datasets/nuswide_zsl.py: the papers' test set."""
    from mmengine.config import Config

    from granzsl_mm import register_all_modules
    from granzsl_mm.registry import DATASETS
    register_all_modules()
    cfg = Config.fromfile(osp.join(osp.dirname(__file__), '..', '..',
                                   'configs', '_base_', 'datasets',
                                   'nuswide_zsl.py'))
    _signed_pickles(nus_root)
    test = DATASETS.build(dict(cfg.test_dataloader.dataset,
                               data_root=str(nus_root)))
    assert len(test.metainfo['classes']) == 9 and len(test) == 3
    train = DATASETS.build(dict(cfg.train_dataloader.dataset,
                                data_root=str(nus_root)))
    assert [train.get_data_info(i)['gt_label'] for i in range(len(train))] \
        == [[0, 1]]  # the two training images without seen labels dropped
    sample = test[0]['data_samples']
    assert sample.gt_score.shape == (9, )


def test_pickle_keys_without_folder(nus_root):
    """Bare file names are matched to their Imagelist.txt folder."""
    _signed_pickles(nus_root)
    for name in ('test_seen_labels.pkl', 'test_unseen_labels.pkl'):
        path = nus_root / name
        data = pickle.loads(path.read_bytes())
        path.write_bytes(pickle.dumps({image_key(k).split('/')[1]: v
                                       for k, v in data.items()}))
    ds = NUSWideZSLDataset(data_root=str(nus_root), labels_from='pickles')
    got = {ds.get_data_info(i)['img_path']: ds.get_data_info(i)['gt_label']
           for i in range(len(ds))}
    assert got == {str(nus_root / 'Flickr' / k): v for k, v in
                   zip(TEST_KEYS, EXPECTED[('test', 'all')])}
    path = nus_root / 'test_seen_labels.pkl'
    data = pickle.loads(path.read_bytes())
    data['9999_1.jpg'] = next(iter(data.values()))
    path.write_bytes(pickle.dumps(data))
    with pytest.raises(ValueError, match=r"no folder.*'9999_1.jpg'"):
        NUSWideZSLDataset(data_root=str(nus_root), labels_from='pickles',
                          label_set='seen')
