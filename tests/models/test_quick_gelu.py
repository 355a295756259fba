"""Every CLIP is built with the activation its weights were
trained with (open_clip 3.x builds GELU for ``ViT-B-16`` + ``'openai'``)."""
import glob
import json
import os.path as osp

import open_clip
import pytest
import torch
from mmengine.config import Config
from open_clip.transformer import QuickGELU
from torch import nn

from granzsl_mm.models.backbones import open_clip_builder as builder
from granzsl_mm.models.backbones.open_clip_builder import (
    ActivationMismatchError,
    build_open_clip,
    resolve_quick_gelu,
)
from tests.fixtures.tiny_override import tiny_model_cfg

ROOT = osp.join(osp.dirname(__file__), '..', '..')
CLIP_TYPES = ('OpenCLIPBackbone', 'CLIPTextEncoder')


def _activations(model: nn.Module) -> set:
    return {type(m).__name__ for m in model.modules()
            if isinstance(m, (QuickGELU, nn.GELU))}


def _clip_nodes(node, out):
    if isinstance(node, dict):
        typ = node.get('type')
        if isinstance(typ, str) and typ.split('.')[-1] in CLIP_TYPES:
            out.append(node)
        for value in node.values():
            _clip_nodes(value, out)
    elif isinstance(node, (list, tuple)):
        for value in node:
            _clip_nodes(value, out)
    return out


@pytest.fixture
def weights_disabled(monkeypatch):
    """Build CLIPs without downloading (the tag is dropped only at
    ``create_model``, after the builder resolved the activation) and without
    random initialisation (fast)."""
    real_create = open_clip.create_model

    def create_without_weights(name, pretrained=None, **kwargs):
        return real_create(name, pretrained=None, **kwargs)

    monkeypatch.setattr(builder.open_clip, 'create_model',
                        create_without_weights)
    monkeypatch.setattr(builder, '_check_pretrained', lambda *a: None)
    for name in ('normal_', 'uniform_', 'kaiming_uniform_', 'xavier_uniform_',
                 'trunc_normal_', 'constant_', 'zeros_', 'ones_'):
        monkeypatch.setattr(torch.nn.init, name, lambda t, *a, **k: t)


def _expected(node: dict) -> str:
    arch, tag = node.get('arch', 'ViT-B-16'), node.get('pretrained')
    if node.get('model_cfg') is not None:
        quick = node['model_cfg'].get('quick_gelu', False)
    elif tag:
        quick = open_clip.get_pretrained_cfg(arch, tag)['quick_gelu'] \
            if 'quick_gelu' in open_clip.get_pretrained_cfg(arch, tag) \
            else False
    else:
        cfg = open_clip.get_model_config(arch) or {}
        quick = cfg.get('quick_gelu', False)
    return 'QuickGELU' if quick else 'GELU'


@pytest.mark.slow
def test_every_config_builds_the_activation_of_its_weights(weights_disabled):
    from granzsl_mm.registry import MODELS
    from granzsl_mm.setup_env import register_all_modules
    register_all_modules()
    builder.register_own_configs()
    files = sorted(glob.glob(osp.join(ROOT, 'configs', '*.py')))
    assert len(files) > 30
    built, checked, wrong = {}, [], []
    for path in files:
        cfg = Config.fromfile(path)
        for node in _clip_nodes(cfg.to_dict(), []):
            key = json.dumps(node, sort_keys=True, default=str)
            if key not in built:
                model = MODELS.build(dict(node))
                built[key] = _activations(model)
            expected = _expected(node)
            checked.append((osp.basename(path), node.get('arch'),
                            node.get('pretrained')))
            if built[key] != {expected}:
                wrong.append((osp.basename(path), node.get('arch'),
                              node.get('pretrained'), sorted(built[key]),
                              expected))
    tagged = [c for c in checked if c[2] == 'openai']
    assert len(tagged) >= 10, checked  # the paper configs are all covered
    assert ('spml_coco_clip_linear.py', 'ViT-L-14-336', 'openai') in checked
    assert not wrong, wrong


def test_tag_resolution_follows_open_clip_pretrained_cfg():
    assert open_clip.get_pretrained_cfg('ViT-B-16', 'openai')['quick_gelu']
    assert resolve_quick_gelu('ViT-B-16', 'openai') is True
    assert resolve_quick_gelu('ViT-L-14-336', 'openai') is True
    assert resolve_quick_gelu('ViT-B-16', 'laion2b_s34b_b88k') is False
    assert resolve_quick_gelu('ViT-B-16', None) is False
    assert resolve_quick_gelu('ViT-B-16', None, quick_gelu=True) is True
    with pytest.raises(ActivationMismatchError, match='QuickGELU'):
        resolve_quick_gelu('ViT-B-16', 'openai', quick_gelu=False)


def test_custom_config_and_explicit_flag_build_that_activation():
    model, _ = build_open_clip('TinyCLIP-test', pretrained='random',
                               model_cfg=tiny_model_cfg())
    assert _activations(model) == {'GELU'}
    model, _ = build_open_clip('TinyCLIP-test', pretrained='random',
                               model_cfg=tiny_model_cfg(),
                               quick_gelu=True)
    assert _activations(model) == {'QuickGELU'}
    model, _ = build_open_clip(
        'TinyCLIP-test', pretrained='random',
        model_cfg=dict(tiny_model_cfg(), quick_gelu=True))
    assert _activations(model) == {'QuickGELU'}


def test_local_files(tmp_path, monkeypatch):
    # An open_clip state dict of unknown provenance follows the config.
    model, _ = build_open_clip('TinyCLIP-test', pretrained='random',
                               model_cfg=tiny_model_cfg())
    plain = tmp_path / 'weights.pt'
    torch.save(model.state_dict(), plain)
    assert resolve_quick_gelu('ViT-B-16', str(plain)) is False
    assert resolve_quick_gelu('ViT-B-16', str(plain), quick_gelu=True) is True
    built, _ = build_open_clip('TinyCLIP-test', pretrained=str(plain),
                               model_cfg=tiny_model_cfg(), quick_gelu=True)
    assert _activations(built) == {'QuickGELU'}
    # An OpenAI-format (TorchScript) file is QuickGELU; GELU is refused.
    scripted = tmp_path / 'ViT-B-16.pt'
    torch.jit.save(torch.jit.script(nn.Linear(2, 2)), str(scripted))
    assert resolve_quick_gelu('ViT-B-16', str(scripted)) is True
    with pytest.raises(ActivationMismatchError, match='TorchScript'):
        resolve_quick_gelu('ViT-B-16', str(scripted), quick_gelu=False)
    # A file in the Hugging Face cache of a tag's repository is that tag's.
    hub = open_clip.get_pretrained_cfg('ViT-B-16', 'openai')['hf_hub']
    repo = 'models--' + '--'.join(hub.strip('/').split('/'))
    cached = tmp_path / repo / 'snapshots' / 'abc' / 'open_clip_model.bin'
    cached.parent.mkdir(parents=True)
    torch.save(model.state_dict(), cached)
    assert resolve_quick_gelu('ViT-B-16', str(cached)) is True
    with pytest.raises(ActivationMismatchError, match="'openai'"):
        resolve_quick_gelu('ViT-B-16', str(cached), quick_gelu=False)


def test_hf_hub_reads_the_cached_repository_config(tmp_path, monkeypatch):
    import huggingface_hub
    cfg = tmp_path / 'open_clip_config.json'
    cfg.write_text(json.dumps({'model_cfg': {'quick_gelu': True}}))
    monkeypatch.setattr(huggingface_hub, 'try_to_load_from_cache',
                        lambda repo, name: str(cfg) if repo == 'org/m' else None)
    assert resolve_quick_gelu('hf-hub:org/m') is True
    with pytest.raises(ActivationMismatchError):
        resolve_quick_gelu('hf-hub:org/m', quick_gelu=False)
    # not cached: the config's setting
    assert resolve_quick_gelu('hf-hub:org/other', quick_gelu=True) is True
    assert resolve_quick_gelu('hf-hub:org/other') is False
