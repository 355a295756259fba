"""granzsl_mm.structures: one home per fact, and the one class-name reader."""
import ast
import glob
import json
import os.path as osp
import pickle
import re
from collections import OrderedDict

import open_clip.constants as oc
import pytest
from mmengine.config import Config

from granzsl_mm.structures import class_lists, prompts
from granzsl_mm.structures.class_names import read_class_names
from granzsl_mm.structures.constants import (
    CLIP_MEAN,
    CLIP_STD,
    DEFAULT_SNIPPET_GRIDS,
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
    ('NUSWIDE81_CLASSES', 'class_lists.py'),
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


# CLIP's mean / std on the 0-255 scale as MMPretrain's configs spell them
# (ours write the same literals; float32-equal to CLIP_MEAN / CLIP_STD).
MMPRETRAIN_CLIP_MEAN = (122.770938, 116.7460125, 104.09373615)
MMPRETRAIN_CLIP_STD = (68.5005327, 66.6321579, 70.32316305)


def test_templates_and_constants_are_written_once():
    home = osp.join('granzsl_mm', 'structures')
    for template in ('a bad photo of a {}.', 'itap of my {}.'):
        assert _constants(template) == [osp.join(home, 'prompts.py')]
    for value in oc.OPENAI_DATASET_MEAN + oc.OPENAI_DATASET_STD:
        assert _constants(value) == [osp.join(home, 'constants.py')], value
    # configs write the 0-255 values as literals (checked against
    # constants.py below); the package takes them from constants.py
    for value in (IMAGENET_MEAN + IMAGENET_STD + MMPRETRAIN_CLIP_MEAN +
                  MMPRETRAIN_CLIP_STD):
        package = [p for p in _constants(value) if p.startswith('granzsl_mm')]
        assert package in ([], [osp.join(home, 'constants.py')]), value


def _config_normalisations():
    """(path, 'mean' / 'std', values) of every ``mean=`` / ``std=`` list of
    numbers in the configs."""
    for path, tree in TREES:
        if not path.startswith('configs'):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.keyword) and node.arg in ('mean', 'std') \
                    and isinstance(node.value, (ast.List, ast.Tuple)):
                yield path, node.arg, tuple(
                    ast.literal_eval(e) for e in node.value.elts)


def test_config_constants_are_the_package_values():
    """Every mean / std a config writes is CLIP's, ImageNet's or SigLIP's of
    constants.py, as the data preprocessors hold them (float32), and the
    pairs match."""
    import numpy as np

    from granzsl_mm.structures.constants import SIGLIP_MEAN, SIGLIP_STD
    known = dict(mean=dict(clip=CLIP_MEAN, imagenet=IMAGENET_MEAN,
                           siglip=SIGLIP_MEAN),
                 std=dict(clip=CLIP_STD, imagenet=IMAGENET_STD,
                          siglip=SIGLIP_STD))
    found = list(_config_normalisations())
    assert len(found) >= 16, found  # 8 preprocessors or more, mean and std
    which = {}
    for path, arg, values in found:
        match = [name for name, ref in known[arg].items() if np.array_equal(
            np.float32(values), np.float32(ref))]
        assert len(match) == 1, (path, arg, values)
        which.setdefault(path, []).append(match[0])
    assert set(which) >= {osp.join('configs', n) for n in (
        'clip_zeroshot_coco.py', 'granzsl_coco.py', 'mkt_coco.py',
        'mkt_demo.py', 'pretrain_tiny_clip_demo.py')}
    # literals spelt as MMPretrain's, within rounding of the products
    for path, arg, values in found:
        ref = [r for r in known[arg].values() if np.array_equal(
            np.float32(values), np.float32(r))][0]
        assert values == pytest.approx(ref, rel=1e-8), (path, arg)


def _words(text):
    """Lower-case words and ``{}`` of a prompt, punctuation dropped."""
    return re.sub(r'[^a-z{} ]', ' ', text.lower()).split()


def test_prompts_and_default_grids_are_written_once():
    home = osp.join('granzsl_mm', 'structures')
    for prompt in (prompts.CLIP_TEMPLATE, prompts.MKT_TEMPLATE):
        package = {p for p in _constants(prompt) if p.startswith('granzsl_mm')}
        assert package == {osp.join(home, 'prompts.py')}, prompt
        # configs write prompts as literals: any that reads like one of
        # these must be it to the letter (no drifted case or period)
        alike = [(path, node.value) for path, tree in TREES
                 if path.startswith('configs') for node in ast.walk(tree)
                 if isinstance(node, ast.Constant) and isinstance(
                     node.value, str) and _words(node.value) == _words(prompt)]
        assert all(value == prompt for _, value in alike), alike
    grids = [path for path, tree in TREES if path.startswith('granzsl_mm')
             for node in ast.walk(tree) if isinstance(node, ast.Tuple) and
             all(isinstance(e, ast.Constant) for e in node.elts) and
             tuple(e.value for e in node.elts) == DEFAULT_SNIPPET_GRIDS]
    assert grids == [osp.join(home, 'constants.py')]


def test_constants_match_open_clip():
    assert CLIP_MEAN == tuple(v * 255 for v in oc.OPENAI_DATASET_MEAN)
    assert CLIP_STD == tuple(v * 255 for v in oc.OPENAI_DATASET_STD)
    assert IMAGENET_MEAN == pytest.approx([v * 255 for v in oc.IMAGENET_MEAN])
    assert IMAGENET_STD == pytest.approx([v * 255 for v in oc.IMAGENET_STD])


def test_configs_name_class_lists_by_key():
    import numpy as np
    cfg = Config.fromfile(osp.join(ROOT, 'configs', 'clip_zeroshot_coco.py'))
    assert cfg.model.class_names == 'coco48_17'
    assert read_class_names(cfg.model.class_names) == (
        list(class_lists.COCO_SEEN_48 + class_lists.COCO_UNSEEN_17), 48)
    assert np.array_equal(np.float32(cfg.model.data_preprocessor.mean),
                          np.float32(CLIP_MEAN))
    assert cfg.model.templates in prompts.TEMPLATE_SETS
    for name, key in (('mkt_coco.py', 'coco48_17'),
                      ('spml_coco_sigrl_clip.py', 'coco80'),
                      ('spml_voc_sigrl_clip.py', 'voc20')):
        cfg = Config.fromfile(osp.join(ROOT, 'configs', name))
        assert cfg.model.class_names == key, name


def test_class_list_keys():
    table = class_lists.CLASS_LISTS
    coco65 = list(class_lists.COCO_SEEN_48 + class_lists.COCO_UNSEEN_17)
    assert read_class_names('coco48_17') == (coco65, 48)
    assert read_class_names('coco80') == (list(class_lists.COCO80_CLASSES),
                                          None)
    assert read_class_names('voc20').names == list(
        class_lists.VOC_CLASS_WORDS)
    # every key resolves; the names are unique within each list
    for key in table:
        names = read_class_names(key).names
        assert names and len(set(names)) == len(names), key
    # a split may name its halves by key too
    assert read_class_names(dict(seen='coco48', unseen='coco17')) == (
        coco65, 48)
    with pytest.raises(KeyError, match="did you mean 'coco48_17'") as err:
        read_class_names('coco_48_17')
    assert all(repr(k) in str(err.value) for k in table)
    with pytest.raises(KeyError, match='unknown class list') as err:
        read_class_names('zzzz')
    assert 'did you mean' not in str(err.value)
    # a path is still a missing file, not a key
    with pytest.raises(FileNotFoundError):
        read_class_names('data/coco48_17.json')


def test_named_vocabularies_keep_the_names_typed_today(tmp_path):
    """The inferencer's named sets (tools/infer.py --vocab, the web app)
    read the one table and give what they gave before it."""
    from granzsl_mm.apis.vocabularies import (
        named_vocabularies,
        read_vocabulary,
    )
    from granzsl_mm.datasets.descriptions import shipped_description_file
    with open(shipped_description_file('nuswide81'), encoding='utf-8') as f:
        nuswide81 = list(json.load(f)['classes'])
    coco65 = list(class_lists.COCO_SEEN_48 + class_lists.COCO_UNSEEN_17)
    before = {
        'coco80': list(class_lists.COCO80_CLASSES),
        'coco': list(class_lists.COCO80_CLASSES),
        'coco48_17': coco65, 'coco65': coco65, 'coco_zsl': coco65,
        'coco48': list(class_lists.COCO_SEEN_48),
        'coco_seen': list(class_lists.COCO_SEEN_48),
        'coco17': list(class_lists.COCO_UNSEEN_17),
        'coco_unseen': list(class_lists.COCO_UNSEEN_17),
        'nuswide81': nuswide81, 'nuswide': nuswide81,
    }
    for name, words in before.items():
        assert read_vocabulary(name) == words, name
        assert read_vocabulary(name.upper().replace('_', '-')) == words
    assert set(before) <= set(named_vocabularies())
    assert set(named_vocabularies()) == set(class_lists.CLASS_LISTS)
    # a word that is no key stays a one-word vocabulary
    assert read_vocabulary('zebra') == ['zebra']


def test_nuswide81_is_the_official_concept_order():
    concepts = osp.join(ROOT, '..', 'shared', 'data', 'nuswide',
                        'Concepts81.txt')
    if not osp.isfile(concepts):
        pytest.skip('../shared/data/nuswide/Concepts81.txt is not available')
    with open(concepts, encoding='utf-8') as f:
        names = [ln.strip() for ln in f if ln.strip()]
    assert tuple(names) == class_lists.NUSWIDE81_CLASSES


def test_structures_import_the_standard_library_only():
    # and the ground floor's doors for files from others (pickle splits,
    # JSON class lists), both standard library only
    allowed = {'difflib', 'json', 'os', 'typing', 'warnings',
               'granzsl_mm.utils.safe_pickle', 'granzsl_mm.utils.json_files'}
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
    assert set(prompts.TEMPLATE_SETS) == {'single', 'openai_imagenet_80',
                                          'tagclip_85'}
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


def test_readers_use_the_one_home_of_each_class_list():
    from granzsl_mm.datasets.spml.voc import VOC_CLASSES
    from granzsl_mm.datasets.zsl.coco_instances import (
        COCO80_CLASSES,
        COCO_SEEN_48,
    )
    assert COCO80_CLASSES is class_lists.COCO80_CLASSES
    assert COCO_SEEN_48 is class_lists.COCO_SEEN_48
    assert VOC_CLASSES is class_lists.VOC_CLASSES


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
