"""MMPretrain's own API (list_models, get_model, inference_model) and
open_clip's model table on our models after register_all_modules()."""
import json
import os.path as osp
import socket

import numpy as np
import open_clip
import pytest
import torch
from PIL import Image

import granzsl_mm
from tests.fixtures.run_tools import REPO, run_tool

DEMO = osp.join(REPO, 'configs', 'granzsl_demo.py')


def test_register_all_modules_tells_mmpretrain_and_open_clip():
    import mmpretrain
    granzsl_mm.register_all_modules()
    granzsl_mm.register_all_modules()  # idempotent: no name conflict
    listed = mmpretrain.list_models('*granzsl*')
    assert listed and listed == granzsl_mm.list_models('*granzsl*')
    assert 'granzsl_demo' in listed
    # every model of ours is there, classifiers with the task MMPretrain's
    # inference_model dispatches on
    from mmpretrain.apis.model import ModelHub
    for name in granzsl_mm.list_models():
        assert ModelHub.has(name)
    assert {r.task for r in ModelHub.get('granzsl_demo').results} == {
        'Image Classification'}
    assert 'TinyCLIP-world' in open_clip.list_models()


@pytest.mark.slow
def test_mmpretrain_get_model_and_inference_model_tag_as_infer_tool(
        tmp_path):
    import mmpretrain
    granzsl_mm.register_all_modules()
    random_tower = dict(backbone=dict(pretrained='random'))
    # by config path: built in our scope (the config's model._scope_)
    model = mmpretrain.get_model(DEMO, **random_tower)
    assert type(model).__name__ == 'GranZSL'
    torch.manual_seed(3)
    with torch.no_grad():
        model.name_learner.name_vectors.normal_()
    names = [f'class {i}' for i in range(model.num_classes)]
    weights = str(tmp_path / 'granzsl_demo_tiny.pth')
    torch.save(dict(state_dict=model.state_dict(),
                    meta=dict(dataset_meta=dict(classes=names))), weights)
    image = np.zeros((64, 64, 3), np.uint8)
    image[10:40, 12:50] = (200, 30, 30)
    path = str(tmp_path / 'red.png')
    Image.fromarray(image).save(path)

    # by name (the model hub): inference_model picks MMPretrain's inferencer
    named = mmpretrain.get_model('granzsl_demo', pretrained=weights,
                                 **random_tower)
    result = mmpretrain.inference_model(named, path)
    scores = np.asarray(result['pred_scores'])

    out = str(tmp_path / 'tags.json')
    try:
        run_tool('tools/infer.py', [DEMO, path, '--checkpoint', weights,
                                    '--topk', '0', '--out', out,
                                    '--no-progress', '--cfg-options',
                                    'model.backbone.pretrained=random'])
    except SystemExit as exit_:
        assert exit_.code in (0, None)
    with open(out) as f:
        tagged = json.load(f)['results'][0]
    order = np.argsort(-scores, kind='stable')
    assert tagged['labels'] == [names[i] for i in order]
    assert np.allclose(tagged['scores'], scores[order], atol=1e-5)
    assert result['pred_class'] == tagged['labels'][0]
    assert result['pred_score'] == pytest.approx(tagged['scores'][0],
                                                 abs=1e-5)

    # a model built from a config path carries no model-hub entry, so
    # MMPretrain's inference_model cannot pick an inferencer (as for its
    # own configs); its inferencer takes the model directly
    by_path = mmpretrain.get_model(DEMO, pretrained=weights, **random_tower)
    with pytest.raises(NotImplementedError, match='No available inferencer'):
        mmpretrain.inference_model(by_path, path)
    direct = mmpretrain.ImageClassificationInferencer(by_path)(path)[0]
    assert np.allclose(direct['pred_scores'], scores, atol=1e-6)


def test_list_clip_models_reads_open_clip_metadata(monkeypatch):
    def offline(*args, **kwargs):
        raise AssertionError('list_clip_models touched the network')

    monkeypatch.setattr(socket, 'create_connection', offline)
    monkeypatch.setattr(socket.socket, 'connect', offline)
    models = granzsl_mm.list_clip_models()
    by_name = {(m['arch'], m['tag']): m for m in models}
    pretrained = [(a, t) for a, t in open_clip.list_pretrained()
                  if open_clip.get_model_config(a) is not None]
    assert set(pretrained) <= set(by_name)
    openai_mean = (0.48145466, 0.4578275, 0.40821073)
    for arch, tag in pretrained:
        entry = by_name[arch, tag]
        cfg = open_clip.get_pretrained_cfg(arch, tag)
        assert entry['activation'] == ('quick_gelu' if cfg.get('quick_gelu')
                                       else 'gelu'), (arch, tag)
        assert entry['mean'] == pytest.approx(cfg.get('mean', openai_mean))
        size = open_clip.get_model_config(arch)['vision_cfg'].get(
            'image_size', 224)
        assert entry['input_size'] == ((size, size) if isinstance(size, int)
                                       else tuple(size))
    # values known independently of open_clip's tables
    assert by_name['ViT-B-16', 'openai']['activation'] == 'quick_gelu'
    assert by_name['ViT-B-16', 'openai']['input_size'] == (224, 224)
    assert by_name['ViT-B-16', 'openai']['std'] == pytest.approx(
        (0.26862954, 0.26130258, 0.27577711))
    assert by_name['ViT-B-16-SigLIP', 'webli']['mean'] == pytest.approx(
        (0.5, 0.5, 0.5))
    world = by_name['TinyCLIP-world', 'random']
    assert world['own'] and world['input_size'] == (48, 48)
    assert granzsl_mm.list_clip_models('*/openai') and all(
        m['tag'] == 'openai' for m in granzsl_mm.list_clip_models('*/openai'))


def test_every_config_builds_its_model_in_our_scope():
    """``mmpretrain.get_model`` builds in the ``mmpretrain`` scope; the
    model dict's ``_scope_`` (mmengine's cross-library key) switches to
    ours for it and everything it builds."""
    import glob

    from mmengine.config import Config
    configs = sorted(glob.glob(osp.join(REPO, 'configs', '*.py')))
    assert len(configs) > 30
    for path in configs:
        model = Config.fromfile(path).get('model')
        assert model is not None and model.get('_scope_') == 'granzsl_mm', (
            path)


@pytest.mark.slow
def test_importing_registers_nothing_with_mmpretrain_or_open_clip():
    import subprocess
    import sys
    code = ('import granzsl_mm, granzsl_mm.apis, open_clip\n'
            'from mmpretrain.apis.model import ModelHub\n'
            'assert not ModelHub.has("granzsl_demo")\n'
            'assert "TinyCLIP-world" not in open_clip.list_models()\n'
            'granzsl_mm.register_all_modules()\n'
            'assert ModelHub.has("granzsl_demo")\n'
            'assert "TinyCLIP-world" in open_clip.list_models()\n'
            'print("ok")\n')
    proc = subprocess.run([sys.executable, '-c', code], cwd=REPO,
                          capture_output=True, text=True, timeout=300,
                          env=dict(PYTHONPATH=REPO, PATH='/usr/bin:/bin',
                                   OMP_NUM_THREADS='1', HOME='/tmp'))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip().endswith('ok')


def test_a_metafile_that_gains_a_model_registers_only_the_new_one(
        monkeypatch):
    """A second call after the metafile gained a model (an edit while a
    long process runs) adds that model instead of failing on the names
    already in MMPretrain's hub."""
    from mmpretrain.apis.model import ModelHub

    from granzsl_mm.apis.model_zoo import register_model_index
    granzsl_mm.register_all_modules()
    name = 'granzsl_demo'
    assert ModelHub.has(name)
    # the hub as it was before the metafile gained `granzsl_demo`
    monkeypatch.delitem(ModelHub._models_dict, name)
    assert not ModelHub.has(name)
    register_model_index()
    assert ModelHub.has(name)
    assert ModelHub.get(name).config.model.type == 'GranZSL'
    register_model_index()  # and again: nothing to add, nothing raised
