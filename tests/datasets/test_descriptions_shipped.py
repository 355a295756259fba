"""The description files shipped with the package."""
import json
import os.path as osp
import pickle
from collections import Counter

import pytest

from granzsl_mm.datasets import ClassDescriptionDataset, load_descriptions
from granzsl_mm.datasets.descriptions import shipped_description_file

SHARED = '/work/shared/data'
COCO_CATEGORIES = osp.join(SHARED, 'coco', 'categories.json')
COCO_SPLIT = osp.join(SHARED, 'coco', 'cls_ids.pickle')
NUS_CONCEPTS = osp.join(SHARED, 'nuswide', 'Concepts81.txt')
NUS_TAGS = osp.join(SHARED, 'nuswide', 'TagList1k.txt')
# the 48 / 17 classes of the COCO ZSL split (Bansal et al.), label order
COCO_SEEN = (
    'person bicycle car motorcycle train truck boat bench bird horse sheep '
    'bear zebra giraffe backpack handbag suitcase frisbee skis kite surfboard '
    'bottle fork spoon bowl banana apple sandwich orange broccoli carrot '
    'pizza donut chair bed toilet tv laptop mouse remote microwave oven '
    'toaster refrigerator book clock vase toothbrush').split()
COCO_UNSEEN = ('airplane bus cat dog cow elephant umbrella tie snowboard '
               'skateboard cup knife cake couch keyboard sink scissors').split()


def _lines(path):
    return [ln.strip() for ln in open(path) if ln.strip()]


def _check_rich(descs):
    for name, entry in descs.items():
        assert entry['source'] == 'written', name
        assert len(set(entry['attributes'])) >= 3, name
        assert entry.get('parents') and entry.get('cooccurrence'), name
        assert name not in entry.get('parents', []), name
    # not one template with the name swapped: attributes are mostly unique
    attrs = Counter(a for e in descs.values() for a in e['attributes'])
    assert len(attrs) >= 0.9 * sum(attrs.values())


def test_coco80():
    descs = load_descriptions('coco80', COCO_SEEN + COCO_UNSEEN,
                              allow_extra=True)
    assert len(descs) == 80
    _check_rich(descs)
    if osp.isfile(COCO_CATEGORIES):
        cats = sorted(json.load(open(COCO_CATEGORIES)), key=lambda c: c['id'])
        assert list(descs) == [c['name'] for c in cats]  # exact names, order


@pytest.mark.skipif(not osp.isfile(COCO_SPLIT), reason='no cls_ids.pickle')
def test_coco_zsl_dataset_from_papers_split():
    ds = ClassDescriptionDataset('coco80', split_file=COCO_SPLIT,
                                 templates='openai_imagenet_80')
    assert ds.metainfo['seen_classes'] == COCO_SEEN
    assert ds.metainfo['unseen_classes'] == COCO_UNSEEN
    counts = ds.sentences_per_class
    assert len(counts) == 65 and min(counts) > 80 + 8
    with open(COCO_SPLIT, 'rb') as f:
        assert len(pickle.load(f)['train']) == 48


def test_nuswide81():
    descs = load_descriptions('nuswide81')
    assert len(descs) == 81
    _check_rich(descs)
    if osp.isfile(NUS_CONCEPTS):
        assert list(descs) == _lines(NUS_CONCEPTS)


def test_nuswide_seen925_and_1006_dataset():
    seen = load_descriptions('nuswide_seen925')
    assert len(seen) == 925
    sources = Counter(e['source'] for e in seen.values())
    assert set(sources) == {'written', 'derived', 'template'}
    assert sources['written'] >= 150
    for name, entry in seen.items():
        if entry['source'] != 'template':
            assert len(entry['attributes']) >= 3, name
            assert entry['parents'] and entry['cooccurrence'], name
    data = json.load(open(shipped_description_file('nuswide_seen925')))
    assert 'tools/generate_descriptions.py' in data['notes']
    if osp.isfile(NUS_TAGS):
        concepts = set(_lines(NUS_CONCEPTS))
        assert list(seen) == [t for t in _lines(NUS_TAGS)
                              if t not in concepts]
    ds = ClassDescriptionDataset('nuswide_seen925',
                                 unseen_description_file='nuswide81',
                                 lazy_init=True)
    assert len(ds.metainfo['classes']) == 1006
    assert len(ds.metainfo['seen_classes']) == 925
    assert ds.metainfo['unseen_classes'] == list(load_descriptions('nuswide81'))
