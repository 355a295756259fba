"""granzsl_mm.structures: one home per fact, and the one class-name reader."""
import ast
import glob
import json
import os.path as osp
import pickle
from collections import OrderedDict

import open_clip.constants as oc
import pytest
from mmengine.config import Config

from granzsl_mm.structures import class_lists, prompts
from granzsl_mm.structures.class_names import read_class_names
from granzsl_mm.structures.constants import (
    CLIP_MEAN,
    CLIP_STD,
    IMAGENET_MEAN,
    IMAGENET_STD,
)
from granzsl_mm.utils.safe_pickle import UnsafePickleError

ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))
SHARED_COCO = osp.join(ROOT, '..', 'shared', 'data', 'coco')
STRUCTURES = osp.join(ROOT, 'granzsl_mm', 'structures')


def _trees():
    """(path, AST) of every Python file of the package and the configs."""
    files = sorted(glob.glob(osp.join(ROOT, 'granzsl_mm', '**', '*.py'),
                             recursive=True) +
                   glob.glob(osp.join(ROOT, 'configs', '**', '*.py'),
                             recursive=True))
    assert len(files) > 50
    out = []
    for path in files:
        with open(path, encoding='utf-8') as f:
            out.append((osp.relpath(path, ROOT), ast.parse(f.read())))
    return out


TREES = _trees()


def _string_sequences():
    """Every list / tuple literal of string constants: (path, values)."""
    for path, tree in TREES:
        for node in ast.walk(tree):
            if isinstance(node, (ast.List, ast.Tuple)) and node.elts and all(
                    isinstance(e, ast.Constant) and isinstance(e.value, str)
                    for e in node.elts):
                yield path, tuple(e.value for e in node.elts)


def _constants(value):
    return [path for path, tree in TREES for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and type(node.value) is type(
                value) and node.value == value]


@pytest.mark.parametrize('name,home', [
    ('OPENAI_IMAGENET_TEMPLATES', 'prompts.py'),
    ('COCO80_CLASSES', 'class_lists.py'),
    ('COCO_SEEN_48', 'class_lists.py'),
    ('COCO_UNSEEN_17', 'class_lists.py'),
    ('VOC_CLASSES', 'class_lists.py'),
    ('VOC_CLASS_WORDS', 'class_lists.py'),
])
def test_each_list_is_written_once(name, home):
    module = prompts if home == 'prompts.py' else class_lists
    values = tuple(getattr(module, name))
    home = osp.join('granzsl_mm', 'structures', home)
    where = [p for p, seq in _string_sequences() if seq == values]
    assert where == [home]
    # no partial copy elsewhere either: no literal with 8 of its entries
    part = [p for p, seq in _string_sequences()
            if p != home and len(set(seq) & set(values)) >= 8]
    assert part == [], part


def test_templates_and_constants_are_written_once():
    home = osp.join('granzsl_mm', 'structures')
    for template in ('a bad photo of a {}.', 'itap of my {}.'):
        assert _constants(template) == [osp.join(home, 'prompts.py')]
    for value in (oc.OPENAI_DATASET_MEAN + oc.OPENAI_DATASET_STD +
                  IMAGENET_MEAN + IMAGENET_STD):
        assert _constants(value) == [osp.join(home, 'constants.py')], value


def test_constants_match_open_clip():
    assert CLIP_MEAN == tuple(v * 255 for v in oc.OPENAI_DATASET_MEAN)
    assert CLIP_STD == tuple(v * 255 for v in oc.OPENAI_DATASET_STD)
    assert IMAGENET_MEAN == pytest.approx([v * 255 for v in oc.IMAGENET_MEAN])
    assert IMAGENET_STD == pytest.approx([v * 255 for v in oc.IMAGENET_STD])


def test_config_bases_give_the_package_values():
    base = osp.join(ROOT, 'configs', '_base_')
    cfg = Config.fromfile(osp.join(base, 'constants', 'clip_normalization.py'))
    assert cfg.to_dict() == dict(clip_mean=list(CLIP_MEAN),
                                 clip_std=list(CLIP_STD))
    cfg = Config.fromfile(osp.join(base, 'constants',
                                   'imagenet_normalization.py'))
    assert cfg.to_dict() == dict(imagenet_mean=list(IMAGENET_MEAN),
                                 imagenet_std=list(IMAGENET_STD))
    cfg = Config.fromfile(osp.join(base, 'class_lists', 'coco_zsl.py'))
    assert cfg.to_dict() == dict(coco_seen=list(class_lists.COCO_SEEN_48),
                                 coco_unseen=list(class_lists.COCO_UNSEEN_17))
    cfg = Config.fromfile(osp.join(ROOT, 'configs', 'clip_zeroshot_coco.py'))
    assert cfg.model.class_names == list(class_lists.COCO_SEEN_48 +
                                         class_lists.COCO_UNSEEN_17)
    assert cfg.model.data_preprocessor.mean == list(CLIP_MEAN)
    assert cfg.model.templates in prompts.TEMPLATE_SETS


def test_structures_import_the_standard_library_only():
    # and the restricted unpickler of the ground floor, for pickle splits
    allowed = {'json', 'os', 'typing', 'warnings',
               'granzsl_mm.utils.safe_pickle'}
    for path in glob.glob(osp.join(STRUCTURES, '*.py')):
        with open(path, encoding='utf-8') as f:
            tree = ast.parse(f.read())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module]
            else:
                continue
            assert {n if n.startswith('granzsl_mm') else n.split('.')[0]
                    for n in names} <= allowed, (path, names)


def test_template_set_names():
    assert len(prompts.OPENAI_IMAGENET_TEMPLATES) == 80
    assert len(set(prompts.OPENAI_IMAGENET_TEMPLATES)) == 80
    assert set(prompts.TEMPLATE_SETS) == {'single', 'openai_imagenet_80'}
    assert prompts.get_templates('single') == ('a photo of a {}.', )
    for former in ('openai_imagenet', 'a_photo_of'):
        with pytest.raises(KeyError, match='unknown template set'):
            prompts.get_templates(former)
    with pytest.raises(KeyError, match='unknown template set'):
        prompts.get_templates('imagenet')
    with pytest.raises(ValueError, match='exactly one'):
        prompts.resolve_templates(['{} and {}'])
    with pytest.raises(ValueError, match='contain'):
        prompts.get_templates([])
    assert prompts.resolve_templates(None) == []


def test_old_paths_give_the_same_objects():
    from granzsl_mm.datasets import templates as dt
    from granzsl_mm.datasets.spml.voc import VOC_CLASSES
    from granzsl_mm.datasets.zsl.coco_instances import (
        COCO80_CLASSES,
        COCO_SEEN_48,
    )
    from granzsl_mm.models.text import class_vocabulary
    from granzsl_mm.models.text import templates as mt
    assert mt.OPENAI_IMAGENET_TEMPLATES is dt.OPENAI_IMAGENET_TEMPLATES is \
        prompts.OPENAI_IMAGENET_TEMPLATES
    assert mt.get_templates is prompts.get_templates
    assert dt.fill_templates is prompts.fill_templates
    assert COCO80_CLASSES is class_lists.COCO80_CLASSES
    assert COCO_SEEN_48 is class_lists.COCO_SEEN_48
    assert VOC_CLASSES is class_lists.VOC_CLASSES
    assert class_vocabulary.read_class_names is read_class_names


def _write(path, text):
    path.write_text(text, encoding='utf-8')
    return str(path)


def test_reader_formats(tmp_path):
    assert read_class_names(['a', 'b']) == (['a', 'b'], None)
    txt = _write(tmp_path / 'n.txt', 'sky\r\n\ndog\ncat\n')
    assert read_class_names(txt) == (['sky', 'dog', 'cat'], None)
    unseen = _write(tmp_path / 'u.txt', 'dog\nzebra\n')
    split = read_class_names(dict(seen=txt, unseen=unseen))
    assert split == (['sky', 'cat', 'dog', 'zebra'], 2)
    assert (split.seen, split.unseen) == (['sky', 'cat'], ['dog', 'zebra'])
    layouts = {
        'list': ['x', 'y', 'z'],
        'split': dict(seen=['x', 'y'], unseen=['z']),
        'description': dict(format='granzsl_mm.descriptions/v1',
                            classes=dict(x={}, y={}, z={})),
        'annotation': dict(metainfo=dict(classes=['x', 'y', 'z'])),
        'categories': [dict(id=9, name='z'), dict(id=1, name='x'),
                       dict(id=4, name='y')],
        'instances': dict(images=[], categories=[dict(id=2, name='y'),
                                                 dict(id=1, name='x'),
                                                 dict(id=3, name='z')]),
    }
    for key, data in layouts.items():
        path = _write(tmp_path / f'{key}.json', json.dumps(data))
        names, num_seen = read_class_names(path)
        assert names == ['x', 'y', 'z'], key
        assert num_seen == (2 if key == 'split' else None), key
    with pytest.raises(FileNotFoundError):
        read_class_names(str(tmp_path / 'missing.txt'))
    with pytest.raises(ValueError, match='not valid JSON'):
        read_class_names(_write(tmp_path / 'bad.json', '{"seen": ['))
    with pytest.raises(ValueError, match='expected a list of names'):
        read_class_names(_write(tmp_path / 'other.json', '{"a": 1}'))
    with pytest.raises(ValueError, match='needs "seen"'):
        read_class_names(dict(unseen=['a']))


def test_reader_pickle_split_runs_no_code(tmp_path):
    pkl = tmp_path / 'cls_ids.pickle'
    pkl.write_bytes(pickle.dumps({'train': {3, 0}, 'test': {2}, 'val': set()},
                                 protocol=2))
    assert read_class_names(str(pkl), ['a', 'b', 'c', 'd']) == (
        ['a', 'd', 'c'], 2)
    with pytest.raises(ValueError, match='index_classes'):
        read_class_names(str(pkl))
    with pytest.raises(ValueError, match='indexing 2 classes'):
        read_class_names(str(pkl), ['a', 'b'])
    evil = tmp_path / 'evil.pkl'
    evil.write_bytes(pickle.dumps(OrderedDict(train=[0], test=[1])))
    with pytest.raises(UnsafePickleError, match='refused to load global '
                       'collections.OrderedDict'):
        read_class_names(str(evil), ['a', 'b'])


def test_former_readers_agree(tmp_path):
    from granzsl_mm.apis.vocabularies import read_vocabulary
    from granzsl_mm.datasets.descriptions.dataset import read_class_split
    from granzsl_mm.datasets.descriptions.generation import (
        read_class_names as generation_names,
    )
    from granzsl_mm.models.text import ClassVocabulary
    from granzsl_mm.structures import read_class_names
    path = _write(tmp_path / 's.json',
                  json.dumps(dict(seen=['a', 'b'], unseen=['c'])))
    assert read_class_names(path).names == generation_names(path) == \
        read_vocabulary(path) == ['a', 'b', 'c']
    assert read_class_split(path) == (['a', 'b'], ['c'])
    vocab = ClassVocabulary(path)
    assert (vocab.class_names, vocab.num_seen_classes) == (['a', 'b', 'c'], 2)
    listed = _write(tmp_path / 'l.json', json.dumps(['a', 'b']))
    with pytest.raises(ValueError, match='"seen"'):
        read_class_split(listed)


def test_reader_on_the_papers_coco_split():
    split = osp.join(SHARED_COCO, 'cls_ids.pickle')
    cats = osp.join(SHARED_COCO, 'categories.json')
    if not (osp.isfile(split) and osp.isfile(cats)):
        pytest.skip('../shared/data/coco split files are not available')
    names, num_seen = read_class_names(split, cats)
    assert (len(names), num_seen) == (65, 48)
    assert tuple(names[:48]) == class_lists.COCO_SEEN_48
    assert tuple(names[48:]) == class_lists.COCO_UNSEEN_17
    assert tuple(read_class_names(cats).names) == class_lists.COCO80_CLASSES
    assert read_class_names(split, class_lists.COCO80_CLASSES) == (names, 48)
