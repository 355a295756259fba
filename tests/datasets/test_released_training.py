"""The authors' description file trains through the paper
config as released (only ``description_file`` changed).

The file is written in the released ``*_post_llm.json`` shape by
``tests/datasets/test_released_descriptions.py``'s writer; the class split
is the papers' ``cls_ids.pickle`` (48 + 17 COCO-80 indices).
"""
import os.path as osp
import pickle

import pytest
from mmengine.config import Config

from granzsl_mm import register_all_modules
from granzsl_mm.datasets.descriptions.dataset import read_class_split
from granzsl_mm.datasets.descriptions.format import DescriptionError
from granzsl_mm.registry import DATASETS
from granzsl_mm.structures.class_lists import (
    COCO80_CLASSES,
    COCO_SEEN_48,
    COCO_UNSEEN_17,
)
from tests.datasets.test_released_descriptions import (
    COCO65,
    released_sentences,
    write_post_llm,
)
from tests.fixtures.tiny_granzsl import train_and_check_alignment_loss

ROOT = osp.join(osp.dirname(__file__), '..', '..')
SHARED_SPLIT = osp.join(ROOT, '..', 'shared', 'data', 'coco',
                        'cls_ids.pickle')
ABLATIONS = {'granzsl_coco_no_hierarchy.py': 'hier',
             'granzsl_coco_no_attributes.py': 'attr',
             'granzsl_coco_no_cooccurrence.py': 'cooc'}
KIND_NAMES = {'hier': 'hierarchy', 'attr': 'attributes',
              'cooc': 'cooccurrence'}


def _coco_split_pickle(tmp_path):
    """The papers' split: sorted COCO-80 indices of the 48 / 17 classes
    (the shared copy when present, else the same content written here)."""
    if osp.isfile(SHARED_SPLIT):
        return SHARED_SPLIT
    ids = {'train': [COCO80_CLASSES.index(n) for n in COCO_SEEN_48],
           'val': [],
           'test': [COCO80_CLASSES.index(n) for n in COCO_UNSEEN_17]}
    path = tmp_path / 'cls_ids.pickle'
    path.write_bytes(pickle.dumps(ids))
    return str(path)


def _dataset(config, desc, split, **extra):
    register_all_modules()
    cfg = Config.fromfile(osp.join(ROOT, 'configs', config))
    ds_cfg = dict(cfg.train_dataloader.dataset, description_file=desc,
                  split_file=split, **extra)
    ds_cfg.pop('pipeline')
    return DATASETS.build(ds_cfg)


def test_coco_split_pickle_reads_in_coco80_order(tmp_path):
    seen, unseen = read_class_split(_coco_split_pickle(tmp_path))
    assert seen == list(COCO_SEEN_48) and unseen == list(COCO_UNSEEN_17)
    # any other pickle still needs its names
    other = tmp_path / 'other.pickle'
    other.write_bytes(pickle.dumps({'train': [0, 1], 'test': [2]}))
    with pytest.raises(ValueError, match='index_classes'):
        read_class_split(str(other))
    assert read_class_split(str(other), ['a', 'b', 'c']) == (['a', 'b'],
                                                             ['c'])


def test_counts_per_kind_as_the_reference(tmp_path):
    desc = tmp_path / 'mscoco_post_llm.json'
    kinds = write_post_llm(desc)
    dataset = _dataset('granzsl_coco.py', str(desc),
                       _coco_split_pickle(tmp_path))
    assert dataset.metainfo['classes'] == COCO65
    assert dataset.kind_counts == {
        'hierarchy': kinds['hier'], 'attributes': kinds['attr'],
        'cooccurrence': kinds['cooc'], 'other': 0, 'sentences': 0}
    # the reference: every sentence as written (duplicates, no period
    # added), then the 80 templates, class by class
    per_class = 6 + 80
    assert len(dataset) == 65 * per_class
    items = [dataset.get_data_info(i) for i in range(per_class)]
    parts = released_sentences('person', 0)
    assert [it['text'] for it in items[:6]] == (
        parts['attr'][:1] + parts['hier'] + parts['cooc'] + parts['attr'][1:])
    assert items[6]['text'] == 'a bad photo of a person.'
    assert {it['gt_label'] for it in items} == {0}
    # deduplication stays an option
    deduped = _dataset('granzsl_coco.py', str(desc),
                       _coco_split_pickle(tmp_path), dedupe=True)
    assert len(deduped) == 65 * (per_class - 1)


@pytest.mark.parametrize('config,kind', sorted(ABLATIONS.items()))
def test_each_ablation_removes_its_kind(config, kind, tmp_path):
    desc = tmp_path / 'mscoco_post_llm.json'
    kinds = write_post_llm(desc)
    split = _coco_split_pickle(tmp_path)
    full = len(_dataset('granzsl_coco.py', str(desc), split))
    ablated = _dataset(config, str(desc), split)
    assert len(ablated) == full - kinds[kind]
    texts = [ablated.get_data_info(i)['text'] for i in range(len(ablated))]
    marker = {'hier': ', which is a ', 'attr': ', which has ',
              'cooc': ', which appears together with '}[kind]
    assert not any(marker in t for t in texts)


@pytest.mark.parametrize('config,kind', sorted(ABLATIONS.items()))
def test_ablation_removing_nothing_fails(config, kind, tmp_path):
    """A file without the kind: the ablation would train on everything."""
    import json
    desc = tmp_path / 'mscoco_post_llm.json'
    write_post_llm(desc)
    data = json.loads(desc.read_text())
    parts = {name: released_sentences(name, i)
             for i, name in enumerate(COCO65)}
    for i, name in enumerate(COCO65):
        drop = set(parts[name][kind])
        data[str(i)]['candidate_sentences'] = [
            s for s in data[str(i)]['candidate_sentences'] if s not in drop]
    desc.write_text(json.dumps(data))
    split = _coco_split_pickle(tmp_path)
    _dataset('granzsl_coco.py', str(desc), split)  # the full set is fine
    with pytest.raises(DescriptionError, match=KIND_NAMES[kind]):
        _dataset(config, str(desc), split)


@pytest.mark.slow
def test_released_file_trains_through_paper_config(tmp_path):
    """tools/train.py configs/granzsl_coco.py with only description_file
    changed (here: shrunk to a tiny CLIP and two iterations)."""
    from mmengine.runner import Runner

    from tests.fixtures.tiny_override import tiny_override
    desc = tmp_path / 'mscoco_post_llm.json'
    write_post_llm(desc)
    cfg = Config.fromfile(osp.join(ROOT, 'configs', 'granzsl_coco.py'))
    tiny_override(cfg, work_dir=str(tmp_path / 'work'), num_samples=8,
                  batch_size=4,
                  paths=dict(description_file=str(desc),
                             split_file=_coco_split_pickle(tmp_path)))
    cfg.test_dataloader = cfg.test_cfg = cfg.test_evaluator = None
    runner = Runner.from_cfg(cfg)
    train_and_check_alignment_loss(runner)
