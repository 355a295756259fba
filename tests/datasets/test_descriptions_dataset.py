"""ClassDescriptionDataset and PackTextInputs."""
import json
import pickle

import pytest
import torch
from mmengine.dataset import pseudo_collate
from mmengine.registry import DefaultScope

from granzsl_mm.datasets import (
    DESCRIPTION_FORMAT,
    ClassDescriptionDataset,
    DescriptionError,
)
from granzsl_mm.registry import DATASETS

ENTRIES = {
    'cat': {'parents': ['pet'], 'children': ['Persian'],
            'attributes': ['has whiskers'], 'cooccurrence': ['a sofa']},
    'dog': {'attributes': ['has a wet nose', 'wags its tail']},
    'cow': {'parents': ['animal'], 'source': 'template'},
    'zebra': {'attributes': ['is striped']},
}
PACK = [dict(type='PackTextInputs')]


@pytest.fixture
def files(tmp_path):
    desc = tmp_path / 'desc.json'
    desc.write_text(json.dumps({'format': DESCRIPTION_FORMAT,
                                'classes': ENTRIES}))
    split = tmp_path / 'split.json'
    split.write_text(json.dumps({'seen': ['dog', 'cat'], 'unseen': ['cow']}))
    return str(desc), str(split)


def _build(**cfg):
    with DefaultScope.overwrite_default_scope('granzsl_mm'):
        return DATASETS.build(dict(type='ClassDescriptionDataset', **cfg))


def test_items_counts_and_packing(files):
    desc, split = files
    ds = _build(description_file=desc, split_file=split,
                templates=['a photo of a {}.'], pipeline=PACK)
    assert ds.metainfo['classes'] == ['dog', 'cat', 'cow']
    assert ds.metainfo['seen_classes'] == ['dog', 'cat']
    assert ds.metainfo['unseen_classes'] == ['cow']
    assert ds.metainfo['class_parents'] == [[], ['pet'], ['animal']]
    texts = [(ds.get_data_info(i)['text'], ds.get_data_info(i)['gt_label'])
             for i in range(len(ds))]
    assert texts == [
        ('a dog, which has a wet nose.', 0), ('a dog, which wags its tail.', 0),
        ('a photo of a dog.', 0),
        ('a cat, which has whiskers.', 1), ('a cat, which is a pet.', 1),
        ('a Persian, which is a cat.', 1),
        ('a Persian, which is a cat, which is a pet.', 1),
        ('a cat, which appears together with a sofa.', 1),
        ('a photo of a cat.', 1),
        ('a cow, which is an animal.', 2), ('a photo of a cow.', 2)]
    assert ds.sentences_per_class == [3, 6, 2]
    packed = ds[3]
    assert packed['inputs'] == 'a cat, which has whiskers.'
    sample = packed['data_samples']
    assert torch.equal(sample.gt_label, torch.tensor([1]))
    assert sample.text == 'a cat, which has whiskers.'
    batch = pseudo_collate([ds[0], ds[10]])
    assert batch['inputs'] == ['a dog, which has a wet nose.',
                               'a photo of a cow.']
    assert [int(s.gt_label) for s in batch['data_samples']] == [0, 2]


def test_ablation_fields_sources_and_errors(files, tmp_path):
    desc, split = files
    ds = _build(description_file=desc, split_file=split,
                fields=['attributes', 'cooccurrence'],
                templates='openai_imagenet_80')
    assert ds.sentences_per_class == [2 + 80, 2 + 80, 80]
    only_written = _build(description_file=desc,
                          classes={'seen': ['cat'], 'unseen': ['cow']},
                          sources=['written'], templates=['art of a {}.'])
    # cow is a template entry: it contributes the template sentence only
    assert only_written.sentences_per_class == [1, 1]
    with pytest.raises(DescriptionError, match=r"no sentences for 1 classes.*"
                       r"\['cow'\]"):
        _build(description_file=desc, split_file=split, fields=['attributes'])
    with pytest.raises(DescriptionError, match=r"missing classes: \['horse'\]"):
        _build(description_file=desc, classes=['cat', 'horse'])
    # the papers' pickle split: indices into the class list (file order here)
    pkl = tmp_path / 'cls_ids.pickle'
    pkl.write_bytes(pickle.dumps({'train': {3, 0}, 'test': {2}, 'val': set()}))
    ds = _build(description_file=desc, split_file=str(pkl))
    assert ds.metainfo['classes'] == ['cat', 'zebra', 'cow']
    assert len(ds) == 5 + 1 + 1


def test_post_llm_and_merged_files(files, tmp_path):
    post = tmp_path / 'x_post_llm.json'
    post.write_text(json.dumps({
        '0': {'node_name': 'Dog', 'candidate_sentences': ['a dog barks.']},
        '1': {'node_name': 'cow', 'candidate_sentences': ['a cow grazes.',
                                                          'a cow moos.']}}))
    ds = ClassDescriptionDataset(str(post), classes={'seen': ['dog'],
                                                     'unseen': ['cow']})
    assert [ds.get_data_info(i) for i in range(len(ds))] == [
        {'text': 'a dog barks.', 'gt_label': 0, 'sample_idx': 0},
        {'text': 'a cow grazes.', 'gt_label': 1, 'sample_idx': 1},
        {'text': 'a cow moos.', 'gt_label': 1, 'sample_idx': 2}]
    desc, _ = files
    unseen = tmp_path / 'unseen.json'
    unseen.write_text(json.dumps({'format': DESCRIPTION_FORMAT, 'classes': {
        'horse': {'attributes': ['has a mane']}}}))
    ds = ClassDescriptionDataset(desc, unseen_description_file=str(unseen))
    assert ds.metainfo['seen_classes'] == ['cat', 'dog', 'cow', 'zebra']
    assert ds.metainfo['unseen_classes'] == ['horse']
    with pytest.raises(DescriptionError, match='described twice'):
        ClassDescriptionDataset(desc, unseen_description_file=desc)
