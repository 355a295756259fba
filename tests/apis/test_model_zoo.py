"""granzsl_mm.list_models / get_model over configs/metafile.yml."""
import glob
import os.path as osp

import pytest
import torch

import granzsl_mm
from granzsl_mm.apis.model_zoo import configs_root, model_index


def test_metafile_lists_every_config_and_only_existing_ones():
    root = configs_root()
    on_disk = {osp.basename(p)[:-3] for p in glob.glob(osp.join(root, '*.py'))}
    index = model_index()
    assert set(index) == on_disk
    for name, entry in index.items():
        assert osp.isfile(entry['Config']), name
        assert osp.basename(entry['Config']) == name + '.py'


def test_list_models_filters_by_pattern():
    names = granzsl_mm.list_models('granzsl*')
    assert {'granzsl_coco', 'granzsl_nuswide', 'granzsl_demo'} <= set(names)
    assert all(n.startswith('granzsl') for n in names)
    assert names == sorted(names)
    assert granzsl_mm.list_models('no_such_model*') == []


def test_get_model_builds_by_name_and_refuses_unknown_names():
    # The demo model with a random tiny CLIP: builds offline.
    model = granzsl_mm.get_model('granzsl_demo', clip_weights='random')
    assert type(model).__name__ == 'GranZSL'
    assert not model.training
    assert model.name_learner.name_vectors.shape[0] == model.num_classes
    assert model.cfg.model.type == 'GranZSL'
    with pytest.raises(ValueError, match='Unknown model'):
        granzsl_mm.get_model('granzsl_does_not_exist')
    with pytest.raises(ValueError, match='no released weights'):
        granzsl_mm.get_model('granzsl_demo', pretrained=True,
                             clip_weights='random')


def test_get_model_loads_a_checkpoint(tmp_path):
    model = granzsl_mm.get_model('granzsl_demo', clip_weights='random')
    with torch.no_grad():
        model.name_learner.name_vectors.normal_()
    path = str(tmp_path / 'names.pth')
    torch.save({'state_dict': model.state_dict()}, path)
    again = granzsl_mm.get_model('granzsl_demo', pretrained=path,
                                 clip_weights='random')
    assert torch.equal(again.name_learner.name_vectors,
                       model.name_learner.name_vectors)
