"""The authors' NUS-WIDE description file (``nuswide_post_llm.json``, added
to wangshouwen/RCNn after f257645) through ``configs/granzsl_nuswide.py``
with only ``description_file`` changed.

The file here is generated in the released file's shape, as read at
wangshouwen/RCNn@c7fe652 (the file is not in this repository): an object
keyed ``"0"`` .. ``"1005"`` in RCNn's label order (the 925 seen tags of
``TagList1k.txt``, then the 81 concepts of ``Concepts81.txt``), indented by
4 spaces, non-ASCII written as ``\\uXXXX``; each entry ``{"node_name": tag,
"candidate_sentences": [...]}`` with hierarchy sentences of one and two
levels (``"a Cincinnati, which is a ohio."``, ``"a ohio, which is a
state."``, ``"a Dayton, which is a ohio, which is a state."``), attributes
(``"which has ..."``, ``"which is absence of ..."``), co-occurrence with and
without a description and final period, capitalised heads, quotes,
apostrophes and exact duplicates.

RCNn's builder (``datasets/caption.py`` ``Caption(..., extra_template=True)``
at f257645) is re-implemented below: per key in file order, every
candidate sentence as written, then the 80 ImageNet templates filled with
``node_name.replace('_', ' ')``, target ``int(key)``. Its
``imagenet_templates`` list is ours in the same order (the digest below was
computed from that file's list, joined by newlines).
"""
import hashlib
import json
import os.path as osp

import pytest
from mmengine.config import Config

from granzsl_mm import register_all_modules
from granzsl_mm.datasets.descriptions.format import classify_released_sentence
from granzsl_mm.datasets.descriptions.io import load_descriptions
from granzsl_mm.registry import DATASETS
from granzsl_mm.structures.class_lists import NUSWIDE81_CLASSES
from granzsl_mm.structures.prompts import TEMPLATE_SETS
from tests.fixtures.tiny_granzsl import train_and_check_alignment_loss

ROOT = osp.join(osp.dirname(__file__), '..', '..')
CONFIG = 'granzsl_nuswide.py'
RCNN_TEMPLATES_SHA256 = ('4f976686fb651bb5803d4689dcd849f7'
                         '5efe0ef19a3c801355bc9a6f03c8a5af')


def test_templates_are_rcnns():
    joined = '\n'.join(TEMPLATE_SETS['openai_imagenet_80']).encode()
    assert hashlib.sha256(joined).hexdigest() == RCNN_TEMPLATES_SHA256


def nuswide_classes():
    """RCNn's label order: 925 seen tags (TagList1k order) + 81 concepts."""
    seen = list(load_descriptions('nuswide_seen925'))
    return seen, list(NUSWIDE81_CLASSES)


def _sentences(name: str, i: int) -> list:
    """One class's candidate sentences, in the released patterns."""
    children = [f'{w} {name}' for w in ('night', 'eco-safari', 'Grant\'s',
                                        'Cape')][:1 + i % 4]
    parents = ['geography', 'United States', 'nature'][:1 + i % 3]
    out = [f'a {c}, which is a {name}.' for c in children]
    out += [f'a {name}, which is a {p}.' for p in parents]
    out += [f'a {c}, which is a {name}, which is a {p}.'
            for p in parents for c in children]
    out += [f'a {name}, which has long legs.',
            f'a {name}, which is absence of man-made structures.',
            f'a {name}, which has presence of the word "{name}".',
            f'a {name}, which has long legs.']  # duplicated, as released
    if i % 2:
        out.append(f'a {name}, which appears together with the Pro Hall '
                   f'{i} - the museum\u2019s architecture.')
    else:
        out.append(f'a {name}, which appears together with the Historical '
                   'Sites')  # no description, no period
    return out


def write_nuswide_post_llm(path) -> dict:
    """Write the file; return the sentences per kind."""
    seen, unseen = nuswide_classes()
    data = {str(i): {'node_name': name,
                     'candidate_sentences': _sentences(name, i)}
            for i, name in enumerate(seen + unseen)}
    with open(path, 'w') as f:
        json.dump(data, f, indent=4)  # ensure_ascii: \u2019 as released
    return data


def rcnn_items(path) -> list:
    """``(text, target)`` of RCNn's ``Caption`` (text_model targets), with
    the sentence itself in place of its CLIP tokens."""
    with open(path) as fp:
        text_data = json.load(fp)
    train = []
    for idx in text_data.keys():
        cls_name = text_data[idx]['node_name'].replace('_', ' ')
        for sentence in text_data[idx]['candidate_sentences']:
            train.append((sentence, int(idx)))
        for cur_temp in TEMPLATE_SETS['openai_imagenet_80']:
            train.append((cur_temp.format(cls_name), int(idx)))
    return train


def _split(tmp_path):
    """Our split file of the 925 / 81 classes (the converter's format)."""
    seen, unseen = nuswide_classes()
    path = tmp_path / 'split_925_81.json'
    path.write_text(json.dumps({'seen': seen, 'unseen': unseen}))
    return str(path)


def _config():
    return Config.fromfile(osp.join(ROOT, 'configs', CONFIG))


def test_items_and_kinds_equal_rcnns_builder(tmp_path):
    register_all_modules()
    desc = tmp_path / 'nuswide_post_llm.json'
    data = write_nuswide_post_llm(desc)
    assert '\\u2019' in desc.read_text()  # the released escaping
    cfg = _config()
    ds_cfg = dict(cfg.train_dataloader.dataset, description_file=str(desc),
                  split_file=_split(tmp_path))
    ds_cfg.pop('pipeline')
    dataset = DATASETS.build(ds_cfg)
    ours = [(dataset.get_data_info(i)['text'],
             dataset.get_data_info(i)['gt_label'])
            for i in range(len(dataset))]
    reference = rcnn_items(str(desc))
    assert ours == reference  # the same items, in the same order
    sentences = [s for v in data.values() for s in v['candidate_sentences']]
    assert len(ours) == len(sentences) + 1006 * 80
    kinds = {'hierarchy': 0, 'attributes': 0, 'cooccurrence': 0, 'other': 0}
    for s in sentences:
        kinds[classify_released_sentence(s)] += 1
    assert dataset.kind_counts == dict(kinds, sentences=0)
    assert kinds.pop('other') == 0 and min(kinds.values()) > 0
    assert dataset.metainfo['classes'] == [v['node_name']
                                           for v in data.values()]


def test_a_renamed_node_is_refused(tmp_path):
    """A node name that is not the class at its index fails, naming it
    (no sentence goes to the wrong class)."""
    from granzsl_mm.datasets.descriptions.format import DescriptionError
    register_all_modules()
    desc = tmp_path / 'nuswide_post_llm.json'
    data = write_nuswide_post_llm(desc)
    data['925']['node_name'] = 'airports'
    desc.write_text(json.dumps(data, indent=4))
    ds_cfg = dict(_config().train_dataloader.dataset,
                  description_file=str(desc), split_file=_split(tmp_path))
    ds_cfg.pop('pipeline')
    with pytest.raises(DescriptionError, match="'airports'"):
        DATASETS.build(ds_cfg)


@pytest.mark.slow
def test_released_shape_trains_through_the_nuswide_config(tmp_path):
    """tools/train.py configs/granzsl_nuswide.py with only description_file
    (and the split file's folder) changed; here shrunk to a tiny CLIP and
    two iterations. The logged loss is the alignment loss of the names and
    sentences the model embedded."""
    from mmengine.runner import Runner

    from tests.fixtures.tiny_override import tiny_override
    register_all_modules()
    desc = tmp_path / 'nuswide_post_llm.json'
    write_nuswide_post_llm(desc)
    cfg = _config()
    tiny_override(cfg, work_dir=str(tmp_path / 'work'), num_samples=8,
                  batch_size=4,
                  paths=dict(description_file=str(desc),
                             split_file=_split(tmp_path)))
    cfg.test_dataloader = cfg.test_cfg = cfg.test_evaluator = None
    runner = Runner.from_cfg(cfg)
    assert runner.model.name_learner.name_vectors.shape[0] == 1006
    train_and_check_alignment_loss(runner)
