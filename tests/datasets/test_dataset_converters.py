"""Converters: COCO 48/17 files and NUS-WIDE annotation files rebuilt from
official-format inputs; label-convention functions."""
import json
import os
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest

from granzsl_mm.datasets import (
    COCO_SEEN_48,
    COCO_UNSEEN_17,
    COCOZSLDataset,
    NUSWideZSLDataset,
    binary_to_ours,
    ours_to_signed,
    signed_to_ours,
)
from granzsl_mm.datasets.converters import (
    COCO_ZSL_OUTPUTS,
    NUSWIDE_ZSL_OUTPUTS,
    convert_coco_zsl,
    convert_nuswide_zsl,
)
from tests.datasets.test_coco_zsl import CAT_ID, COCO80_CLASSES
from tests.datasets.test_nuswide_zsl import (
    CONCEPTS,
    EXPECTED,
    SEEN,
    TEST_KEYS,
    TRAIN_KEYS,
    _signed_pickles,
    nus_root,  # noqa: F401  (fixture)
)

ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))

# image id -> category names (official train2014 / val2014 style)
TRAIN = {5: [], 4: ['toothbrush', 'bicycle'], 1: ['person', 'cat'],
         2: ['person', 'sports ball'], 3: ['sports ball']}
VAL = {11: ['person', 'cat'], 12: ['dog', 'traffic light'],
       13: ['sports ball'], 14: ['toothbrush'], 15: []}


def _official(images):
    imgs, anns = [], []
    for img_id, cats in images.items():  # not sorted: output must sort
        imgs.append(dict(id=img_id, file_name=f'COCO_{img_id:012d}.jpg',
                         width=8, height=8))
        for cat in cats:
            anns.append(dict(id=100 * img_id + len(anns), image_id=img_id,
                             category_id=CAT_ID[cat], bbox=[0, 0, 4, 4],
                             area=16.0, iscrowd=0,
                             segmentation=[[0, 0, 4, 0, 4, 4]]))
    return dict(info={'year': 2014}, licenses=[], images=imgs,
                annotations=anns,
                categories=[dict(id=i, name=n, supercategory='x')
                            for n, i in CAT_ID.items()])


@pytest.fixture
def coco_official(tmp_path):
    for name, images in (('train', TRAIN), ('val', VAL)):
        (tmp_path / f'instances_{name}2014.json').write_text(
            json.dumps(_official(images)))
    return tmp_path


def _load(path):
    with open(path) as f:
        return json.load(f)


def test_coco_converter_subsets(coco_official, tmp_path):
    out = tmp_path / 'out'
    summaries = convert_coco_zsl(str(coco_official / 'instances_train2014.json'),
                                 str(coco_official / 'instances_val2014.json'),
                                 str(out))
    train = _load(out / COCO_ZSL_OUTPUTS['train'])
    zsl = _load(out / COCO_ZSL_OUTPUTS['zsl'])
    gzsl = _load(out / COCO_ZSL_OUTPUTS['gzsl'])
    # image 1 has a cat (unseen): removed; 3 and 5 have no seen label
    assert [im['id'] for im in train['images']] == [2, 4]
    assert sorted(a['category_id'] for a in train['annotations']) == \
        sorted([CAT_ID['person'], CAT_ID['toothbrush'], CAT_ID['bicycle']])
    assert [im['id'] for im in zsl['images']] == [11, 12]
    assert sorted(a['category_id'] for a in zsl['annotations']) == \
        [CAT_ID['cat'], CAT_ID['dog']]
    assert [im['id'] for im in gzsl['images']] == [11, 12, 14]
    assert len(gzsl['annotations']) == 4  # person, cat, dog, toothbrush
    for data in (train, zsl, gzsl):
        assert len(data['categories']) == 80
        assert all('segmentation' not in a for a in data['annotations'])
    assert _load(out / COCO_ZSL_OUTPUTS['split']) == dict(
        seen=list(COCO_SEEN_48), unseen=list(COCO_UNSEEN_17))
    got = {k: (v['images'], v['labels'], v['images_without_labels'])
           for k, v in summaries.items()}
    assert got == {'train': (2, 3, 0), 'zsl': (2, 2, 0), 'gzsl': (3, 4, 0)}
    # the dataset reads them back: person 0, bicycle 1, toothbrush 47,
    # cat 48+2, dog 48+3
    ds = COCOZSLDataset(ann_file=str(out / COCO_ZSL_OUTPUTS['gzsl']),
                        split_file=str(out / COCO_ZSL_OUTPUTS['split']),
                        check_images='none')
    assert [ds.get_data_info(i)['gt_label'] for i in range(3)] == \
        [[0, 50], [51], [47]]
    ds = COCOZSLDataset(ann_file=str(out / COCO_ZSL_OUTPUTS['train']),
                        split_file=str(out / COCO_ZSL_OUTPUTS['split']),
                        label_set='seen', check_images='none')
    assert [ds.get_data_info(i)['gt_label'] for i in range(2)] == \
        [[0], [1, 47]]


def test_coco_converter_options_and_errors(coco_official, tmp_path):
    out = str(tmp_path / 'out')
    train = str(coco_official / 'instances_train2014.json')
    s = convert_coco_zsl(train, None, out, keep_empty_train=True,
                         keep_segmentation=True)
    data = _load(osp.join(out, COCO_ZSL_OUTPUTS['train']))
    assert [im['id'] for im in data['images']] == [2, 3, 4, 5]
    assert all('segmentation' in a for a in data['annotations'])
    assert s['train']['images_without_labels'] == 2
    with pytest.raises(FileExistsError, match='overwrite'):
        convert_coco_zsl(train, None, out)
    split = tmp_path / 'split.json'
    split.write_text(json.dumps({'seen': ['person', 'tvmonitor'],
                                 'unseen': ['cat']}))
    with pytest.raises(ValueError, match='tvmonitor'):
        convert_coco_zsl(train, None, str(tmp_path / 'o2'),
                         split_file=str(split))
    with pytest.raises(ValueError, match='train_ann and/or val_ann'):
        convert_coco_zsl(None, None, str(tmp_path / 'o3'))


def _tool(name):
    import importlib.util
    path = osp.join(ROOT, 'tools', 'dataset_converters', f'{name}.py')
    spec = importlib.util.spec_from_file_location(f'_tool_{name}', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module, path


@pytest.mark.slow
def test_coco_tool_is_deterministic_and_warns(coco_official, tmp_path,
                                              capsys):
    tool, path = _tool('coco_zsl')
    outs = []
    for k in range(2):
        out = tmp_path / f'o{k}'
        assert tool.main(['--train',
                          str(coco_official / 'instances_train2014.json'),
                          '--val', str(coco_official / 'instances_val2014.json'),
                          '--out-dir', str(out)]) == 0
        printed = capsys.readouterr().out
        assert 'gzsl' in printed and 'not identical' in printed
        assert printed.splitlines()[2].split()[:3] == ['zsl', '2', '0']
        outs.append({n: (out / n).read_bytes()
                     for n in COCO_ZSL_OUTPUTS.values()})
    assert outs[0] == outs[1]
    helptext = subprocess.run([sys.executable, path, '--help'],
                              env=dict(os.environ, PYTHONPATH=ROOT),
                              capture_output=True, text=True,
                              timeout=60).stdout
    assert 'RELEASED' in helptext and 'not guaranteed' in helptext
    with pytest.raises(SystemExit):
        tool.main(['--out-dir', str(tmp_path)])  # neither --train nor --val


@pytest.mark.slow
def test_nuswide_converter(nus_root, tmp_path):  # noqa: F811
    _signed_pickles(nus_root)
    out = tmp_path / 'ann'
    summaries = convert_nuswide_zsl(str(nus_root), str(out),
                                    from_pickles=True)
    train = _load(out / NUSWIDE_ZSL_OUTPUTS['train'])
    assert train['metainfo']['label_set'] == 'seen'
    assert [d['img_path'] for d in train['data_list']] == TRAIN_KEYS
    assert [d['gt_label'] for d in train['data_list']] == \
        EXPECTED[('train', 'seen')]
    test = _load(out / NUSWIDE_ZSL_OUTPUTS['test'])
    assert [d['gt_label'] for d in test['data_list']] == \
        EXPECTED[('test', 'all')]
    papers = _load(out / NUSWIDE_ZSL_OUTPUTS['test_papers'])
    by_key = {d['img_path']: d for d in papers['data_list']}
    assert by_key['zoos/0002_4.jpg']['unknown_label'] == [0]
    assert 'unknown_label' not in by_key['zoos/0003_5.jpg']
    assert _load(out / NUSWIDE_ZSL_OUTPUTS['split']) == dict(
        seen=SEEN, unseen=CONCEPTS)
    assert (summaries['test']['images'], summaries['test']['labels']) == (3, 7)
    assert summaries['train']['images_without_labels'] == 2
    # our files read back = the metadata reading, for every label set
    for label_set in ('all', 'seen', 'unseen'):
        a = NUSWideZSLDataset(data_root=str(nus_root), label_set=label_set,
                              ann_file=str(out / NUSWIDE_ZSL_OUTPUTS['test']))
        b = NUSWideZSLDataset(data_root=str(nus_root), label_set=label_set)
        assert a.metainfo == b.metainfo
        for i in range(3):
            ia, ib = a.get_data_info(i), b.get_data_info(i)
            assert ia['img_path'] == ib['img_path']
            np.testing.assert_array_equal(ia['gt_score'], ib['gt_score'])
    with pytest.raises(ValueError, match='seen labels only'):
        NUSWideZSLDataset(data_root=str(nus_root),
                          ann_file=str(out / NUSWIDE_ZSL_OUTPUTS['train']))
    ds = NUSWideZSLDataset(data_root=str(nus_root), label_set='seen',
                           ann_file=str(out / NUSWIDE_ZSL_OUTPUTS['train']))
    assert [ds.get_data_info(i)['img_path'] for i in range(3)] == \
        [str(nus_root / 'Flickr' / k) for k in TRAIN_KEYS]
    with pytest.raises(FileExistsError):
        convert_nuswide_zsl(str(nus_root), str(out))
    tool, _ = _tool('nuswide_zsl')
    assert tool.main([str(nus_root), '--out-dir', str(tmp_path / 'cli')]) == 0
    assert _load(tmp_path / 'cli' / NUSWIDE_ZSL_OUTPUTS['test']) == test
    assert TEST_KEYS[0] in {d['img_path'] for d in test['data_list']}


def test_label_conventions():
    signed = np.array([[1, -1, 0], [0, 0, 1]])
    ours = signed_to_ours(signed)
    np.testing.assert_array_equal(ours, [[1, 0, -1], [-1, -1, 1]])
    assert ours.dtype == np.int8
    np.testing.assert_array_equal(ours_to_signed(ours), signed)
    np.testing.assert_array_equal(binary_to_ours([0, 1, 1]), [0, 1, 1])
    with pytest.raises(ValueError, match=r'\[2\]'):
        signed_to_ours([1, 2])
    with pytest.raises(ValueError, match=r'\[-1\]'):
        binary_to_ours([0, -1])
    with pytest.raises(ValueError, match=r'\[3\]'):
        ours_to_signed([3])
    assert COCO80_CLASSES[0] == 'person'
