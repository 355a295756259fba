"""Recover-and-Match's filtered test files, read as released (a small file
of the released shape, written here)."""
import json

import numpy as np
import pytest

from granzsl_mm.datasets.zsl.recover_match_files import read_filtered_test_file
from granzsl_mm.utils.json_files import JSONFileError


def _write(tmp_path, data, name='test_3_filtered.json'):
    path = tmp_path / name
    path.write_text(json.dumps(data))
    return str(path)


def test_reads_the_released_shape_as_the_reference(tmp_path):
    path = _write(tmp_path, {
        'images': [
            ['/mnt/a/COCO_val2014_1.jpg', ['tie', 'tie', 'dog']],
            ['/mnt/a/COCO_val2014_2.jpg', ['bus', 'person']],  # not a class
            ['/mnt/a/COCO_val2014_3.jpg', []],
        ],
        'classes': ['tie', 'bus', 'dog'],
    })
    f = read_filtered_test_file(path)
    names, labels = f.label_matrix()
    assert names == ['bus', 'dog', 'tie']  # sorted, as the reference's ZSL
    np.testing.assert_array_equal(labels, [[0, 1, 1], [1, 0, 0], [0, 0, 0]])
    counts = f.counts()
    assert (counts['images'], counts['classes'], counts['positive_pairs'],
            counts['images_without_labels']) == (3, 3, 3, 1)
    assert counts['images_per_class'] == {'bus': 1, 'dog': 1, 'tie': 1}
    # GZSL order: given columns
    names, labels = f.label_matrix(['person', 'tie'])
    np.testing.assert_array_equal(labels, [[0, 1], [1, 0], [0, 0]])


@pytest.mark.parametrize('data,match', [
    ([], 'exactly'),
    ({'images': [], 'classes': 'tie'}, 'list of names'),
    ({'images': [], 'classes': ['a', 'a']}, 'twice'),
    ({'images': [['x.jpg', 'tie']], 'classes': ['tie']}, r'images\[0\]'),
    ({'images': [], 'classes': [], 'extra': 1}, 'exactly'),
])
def test_refuses_other_shapes_naming_the_file(tmp_path, data, match):
    path = _write(tmp_path, data)
    with pytest.raises(JSONFileError, match=match) as err:
        read_filtered_test_file(path)
    assert path in str(err.value)


def test_reading_goes_through_the_bounded_json_door(tmp_path):
    path = _write(tmp_path, {'images': [], 'classes': []})
    with pytest.raises(JSONFileError, match='limit'):
        read_filtered_test_file(path, max_bytes=4)
    dup = tmp_path / 'dup.json'
    dup.write_text('{"images": [], "classes": [], "classes": []}')
    with pytest.raises(JSONFileError, match='twice'):
        read_filtered_test_file(str(dup))
