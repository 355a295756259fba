"""Open Images v4 reader and converter on generated files of the official
shapes (counts worked out by hand from tests/fixtures/openimages_files.py).
"""
import json
import os
import pickle

import numpy as np
import pytest

from granzsl_mm.datasets.converters.openimages_zsl import (
    convert_openimages_zsl,
)
from granzsl_mm.datasets.zsl.openimages_files import (
    read_class_descriptions,
    read_top_unseen,
)
from granzsl_mm.datasets.zsl.openimages_zsl import (
    OpenImagesZSLDataset,
    read_openimages_split,
)
from granzsl_mm.registry import DATASETS
from granzsl_mm.utils.safe_pickle import UnsafePickleError
from tests.fixtures.openimages_files import write_openimages_root


@pytest.fixture(scope='module')
def root(tmp_path_factory):
    return write_openimages_root(str(tmp_path_factory.mktemp('oi')))


def _ds(root, **kw):
    kw.setdefault('check_images', 'none')
    return OpenImagesZSLDataset(data_root=root, **kw)


def _labels(ds):
    items = [ds.get_data_info(i) for i in range(len(ds))]
    return {os.path.basename(d['img_path']): (d['gt_label'],
                                              d['negative_label'])
            for d in items}


def test_split_files(root):
    path = os.path.join(root, '2018_04', 'top_400_unseen.csv')
    with open(path, 'rb') as f:
        raw = f.read()
    assert raw.startswith(b'\xef\xbb\xbf') and b'\r\n' in raw
    assert not raw.endswith(b'\n')
    assert read_top_unseen(path, 12) == [7, 2, 11, 5]
    with pytest.raises(ValueError, match='outside 0..9'):
        read_top_unseen(path, 10)
    names = read_class_descriptions(
        os.path.join(root, '2018_04', 'class-descriptions.csv'))
    assert names['/m/s00'] == 'Ducks, geese and swans'
    split = read_openimages_split(root)
    assert split['seen_mids'][:2] == ['/m/s29', '/m/s28']  # file order
    assert split['unseen_mids'] == ['/m/u07', '/m/u02', '/m/u11', '/m/u05']
    # "Bun" names /m/s01 (column 28) and /m/u07: made unique by the MID
    assert split['seen_classes'][28] == 'Bun (/m/s01)'
    assert split['unseen_classes'][0] == 'Bun (/m/u07)'
    assert split['names'][28] == split['names'][30] == 'Bun'
    assert len(read_openimages_split(root, 'all')['unseen_mids']) == 12


def test_gzsl_test_labels(root):
    ds = _ds(root)
    assert len(ds.metainfo['classes']) == 34
    assert ds.metainfo['class_mids'][30:] == ['/m/u07', '/m/u02', '/m/u11',
                                              '/m/u05']
    # d (a MID of neither set) and e (u03, not among the top 4) drop out;
    # s00 -> column 29, s05 -> 24, s01 -> 28, s29 -> 0; u07.. -> 30..33
    assert _labels(ds) == {'a.jpg': ([29, 30], [24]),
                           'b.jpg': ([], [28, 31]),
                           'c.jpg': ([32], [0, 33])}
    info = ds.get_data_info(2)
    assert info['img_path'] == os.path.join(root, 'test', 'c.jpg')
    expect = np.full(34, -1, np.float32)
    expect[[0, 33]], expect[32] = 0, 1
    np.testing.assert_array_equal(info['gt_score'], expect)


def test_label_sets_and_empty_images(root):
    unseen = _ds(root, label_set='unseen')
    assert unseen.metainfo['classes'] == ['Bun (/m/u07)', 'unseen 02',
                                          'unseen 11', 'unseen 05']
    assert unseen.metainfo['class_names'][0] == 'Bun'
    assert _labels(unseen) == {'a.jpg': ([0], []), 'b.jpg': ([], [1]),
                               'c.jpg': ([2], [3])}
    np.testing.assert_array_equal(unseen.get_data_info(2)['gt_score'],
                                  [-1, -1, 1, 0])
    dropped = _ds(root, label_set='unseen', empty_images='drop')
    assert sorted(_labels(dropped)) == ['a.jpg', 'c.jpg']
    assert dropped.num_dropped_empty == 1
    seen = _ds(root, label_set='seen', empty_images='drop')
    assert _labels(seen) == {'a.jpg': ([29], [24])}
    every = _ds(root, unseen='all')
    assert len(every.metainfo['classes']) == 42
    # pool order: u07 -> 37, u03 -> 33; e is now in
    assert _labels(every)['a.jpg'] == ([29, 33, 37], [24])
    assert _labels(every)['e.jpg'] == ([33], [])


def test_registered_and_images_checked(root):
    assert DATASETS.get('OpenImagesZSLDataset') is OpenImagesZSLDataset
    with pytest.raises(Exception, match='missing'):
        _ds(root, check_images='exists')


def test_crafted_unseen_pickle_is_refused(tmp_path):
    bad_root = write_openimages_root(str(tmp_path))
    marker = tmp_path / 'ran'

    class Evil:
        def __reduce__(self):
            return (os.system, (f'touch {marker}', ))

    path = os.path.join(bad_root, '2018_04', 'unseen_labels.pkl')
    with open(path, 'wb') as f:
        pickle.dump(Evil(), f, protocol=2)
    with pytest.raises(UnsafePickleError, match='unseen_labels.pkl'):
        _ds(bad_root)
    assert not marker.exists()


def test_converter_round_trip(root, tmp_path):
    out = str(tmp_path / 'out')
    summaries = convert_openimages_zsl(root, out)
    # train: seen labels only; t1 (s00 +, u07 skipped), t2 (s03 -),
    # t3 (only u02: no seen row, left out)
    assert summaries['train']['images'] == 2
    assert summaries['train']['labels'] == 1
    assert summaries['test']['images'] == 3
    assert summaries['test']['labels'] == 3  # a: 2, c: 1
    assert summaries['test']['images_without_labels'] == 1  # b
    with open(os.path.join(out, 'split_7186_400.json')) as f:
        split = json.load(f)
    assert split['unseen_mids'] == ['/m/u07', '/m/u02', '/m/u11', '/m/u05']
    # a model's class_names: the dataset's class names, not MIDs (CLIP
    # prompts "a photo of a /m/u07" otherwise)
    from granzsl_mm.structures.class_names import read_class_names
    names = read_class_names(os.path.join(out, 'split_7186_400.json'))
    assert names.names == list(_ds(root).metainfo['classes'])
    assert names.num_seen == 30
    assert names.names[30] == 'Bun (/m/u07)'  # shared with /m/s01
    from_json = _ds(out, ann_file='openimages_zsl_test.json')
    assert _labels(from_json) == _labels(_ds(root))
    assert from_json.metainfo['classes'] == _ds(root).metainfo['classes']
    with pytest.raises(ValueError, match='seen labels only'):
        _ds(out, ann_file='openimages_zsl_train.json')
    train = _ds(out, ann_file='openimages_zsl_train.json', label_set='seen',
                split='train')
    assert _labels(train) == {'t1.jpg': ([29], []), 't2.jpg': ([], [26])}
    with pytest.raises(FileExistsError):
        convert_openimages_zsl(root, out)


def test_cli(root, tmp_path, capsys):
    from tools.dataset_converters.openimages_zsl import main
    assert main([root, '--out-dir', str(tmp_path), '--splits', 'test']) == 0
    printed = capsys.readouterr().out
    assert 'openimages_zsl_test.json' in printed and 'test ' in printed
