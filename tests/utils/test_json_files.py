"""JSON files from others: bounded, strict and named in every refusal."""
import json

import pytest

from granzsl_mm.utils.json_files import (
    JSONFileError,
    read_json,
    read_json_lines,
)


def _write(path, text):
    path.write_text(text, encoding='utf-8')
    return str(path)


def test_nesting_repeated_keys_size_and_encoding_are_refused_by_name(
        tmp_path):
    deep = _write(tmp_path / 'deep.json', '[' * 200000 + ']' * 200000)
    with pytest.raises(JSONFileError, match=r'description file .*deep\.json '
                       'nests deeper'):
        read_json(deep, 'description file')
    twice = _write(tmp_path / 'twice.json', '{"cat": ["a"], "cat": ["b"]}')
    with pytest.raises(JSONFileError, match=r"twice\.json has the key 'cat' "
                       'twice'):
        read_json(twice)
    big = _write(tmp_path / 'big.json', json.dumps(list(range(100))))
    with pytest.raises(JSONFileError, match=r'big\.json is \d+ bytes, above '
                       'the 50-byte limit'):
        read_json(big, max_bytes=50)
    latin = tmp_path / 'latin.json'
    latin.write_bytes('{"caf\xe9": 1}'.encode('latin1'))
    with pytest.raises(JSONFileError, match=r'latin\.json is not UTF-8 .*0xe9'):
        read_json(str(latin))
    broken = _write(tmp_path / 'broken.json', '{"a": [1, 2}')
    with pytest.raises(JSONFileError, match=r'broken\.json is not valid JSON'
                       '.*line 1 column 12'):
        read_json(broken)
    with pytest.raises(FileNotFoundError, match='missing.json'):
        read_json(str(tmp_path / 'missing.json'))


def test_valid_files_read_as_json_would(tmp_path):
    data = {'classes': {'cat': ['a cat'], 'dog': []}, 'n': [1, 2.5, None]}
    path = _write(tmp_path / 'ok.json', '\ufeff' + json.dumps(data))
    assert read_json(path) == data


def test_readers_of_others_files_use_it(tmp_path):
    """Descriptions, class names and COCO annotations refuse a repeated key
    and name a missing field instead of a bare KeyError."""
    from granzsl_mm.datasets.descriptions import load_any_descriptions
    from granzsl_mm.datasets.zsl.coco_instances import load_instances
    from granzsl_mm.structures import read_class_names
    twice = _write(tmp_path / 'desc.json',
                   '{"classes": {"cat": ["a"], "cat": ["b"]}}')
    with pytest.raises(ValueError, match=r"desc\.json has the key 'cat'"):
        load_any_descriptions(twice, ["cat"])
    with pytest.raises(ValueError, match=r"desc\.json has the key 'cat'"):
        read_class_names(twice)
    coco = dict(images=[dict(id=1)], annotations=[],
                categories=[dict(id=1, name='cat')])
    path = _write(tmp_path / 'instances.json', json.dumps(coco))
    with pytest.raises(ValueError, match=r'instances\.json: "images"\[0\] has '
                       "no 'file_name' field"):
        load_instances(path)
    coco['images'] = [dict(id=1, file_name='a.jpg')]
    coco['annotations'] = [dict(image_id=1)]
    path = _write(tmp_path / 'instances.json', json.dumps(coco))
    with pytest.raises(ValueError, match=r'"annotations"\[0\] has no '
                       "'category_id'"):
        load_instances(path)


def test_json_lines_are_read_line_by_line_under_the_same_rules(tmp_path):
    path = tmp_path / 'narratives.jsonl'
    path.write_bytes(b'\xef\xbb\xbf{"caption": "a"}\n\n{"caption": "b"}\n')
    assert read_json_lines(str(path)) == [{'caption': 'a'}, {'caption': 'b'}]
    path.write_text('{"caption": "a"}\n{"a": 1, "a": 2}\n')
    with pytest.raises(JSONFileError, match='twice'):
        read_json_lines(str(path))
    path.write_text('{"caption": "a"}\n{oops\n')
    with pytest.raises(JSONFileError, match='line 2 is not valid JSON'):
        read_json_lines(str(path))
    with pytest.raises(JSONFileError, match='limit'):
        read_json_lines(str(path), max_bytes=4)
    with pytest.raises(FileNotFoundError):
        read_json_lines(str(tmp_path / 'missing.jsonl'))
