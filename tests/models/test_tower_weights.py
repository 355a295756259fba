"""Where a CLIP tower's weights come from: no weights is refused, 'random'
is the explicit opt-in and is said, a missing file names itself."""
import pytest
import torch

from granzsl_mm.models.backbones import OpenCLIPBackbone, build_open_clip
from granzsl_mm.models.backbones.tower_weights import (
    MissingClipWeightsError,
    config_tower_line,
    has_random_tower,
    mark_checkpoint_towers,
    resolve_tower_weights,
    tower_weights_line,
)

TINY = 'TinyCLIP-test'


@pytest.mark.parametrize('pretrained', [None, ''])
def test_a_tower_without_weights_is_refused_naming_the_options(pretrained):
    with pytest.raises(MissingClipWeightsError) as info:
        OpenCLIPBackbone(TINY, pretrained=pretrained)
    text = str(info.value)
    assert '\n' not in text
    for words in (repr(TINY), '--clip-checkpoint PATH',
                  'model.backbone.pretrained=/path', "pretrained='random'"):
        assert words in text


def test_random_is_accepted_and_said():
    backbone = OpenCLIPBackbone(TINY, pretrained='random')
    assert has_random_tower(backbone)
    line = tower_weights_line(backbone)
    assert line.startswith('random CLIP tower') and '\n' not in line


def test_a_file_is_said_and_a_checkpoint_with_the_tower_takes_over(
        tmp_path):
    model, _ = build_open_clip(TINY, pretrained='random')
    path = str(tmp_path / 'clip.pt')
    torch.save(model.state_dict(), path)
    backbone = OpenCLIPBackbone(TINY, pretrained=path)
    assert tower_weights_line(backbone) == f'CLIP weights: {path}'
    assert not has_random_tower(backbone)
    random = OpenCLIPBackbone(TINY, pretrained='random')
    names = {f'clip.{k}' for k in random.clip.state_dict()}
    mark_checkpoint_towers(random, names - {'clip.logit_scale'}, 'a.pth')
    assert has_random_tower(random)  # a partial tower replaces nothing
    mark_checkpoint_towers(random, names, 'a.pth')
    assert tower_weights_line(random) == 'CLIP weights: a.pth'


@pytest.mark.parametrize('path, words', [
    ('data/demo/tiny_clip.pt', ('data/demo/tiny_clip.pt',
                                'run `make demo` first')),
    ('/nowhere/ViT-B-16.pt', ('/nowhere/ViT-B-16.pt',
                              '--clip-checkpoint PATH'))])
def test_a_missing_file_names_itself(tmp_path, monkeypatch, path, words):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(MissingClipWeightsError) as info:
        build_open_clip(TINY, pretrained=path)
    assert all(w in str(info.value) for w in words), str(info.value)


def test_repository_names_bring_their_own_weights():
    assert resolve_tower_weights('hf-hub:timm/x', None) is None
    with pytest.raises(ValueError, match='repository'):
        resolve_tower_weights('hf-hub:timm/x', 'random')


def test_the_config_line_before_building():
    model = dict(type='GranZSL', backbone=dict(
        type='OpenCLIPBackbone', pretrained='random'))
    assert config_tower_line(model).startswith('random CLIP tower')
    tta = dict(type='SnippetTTAModel', module=dict(backbone=dict(
        type='OpenCLIPBackbone', pretrained='w.pt')))
    assert config_tower_line(tta) == 'CLIP weights: w.pt'
    assert config_tower_line(dict(type='ImageClassifier')) is None
