"""Weights a user brings: mismatched checkpoints refused, CLIP files checked."""
import os
import os.path as osp
import subprocess
import sys

import pytest
import torch
from mmengine.config import Config

from granzsl_mm.apis import MultiLabelInferencer, get_model
from granzsl_mm.apis.weights import (
    CheckpointMismatchError,
    ClipWeightsError,
    OfflineWeightsError,
    check_checkpoint_fits,
    clip_architecture,
    set_clip_weights,
    weights_option,
)
from granzsl_mm.models.backbones.open_clip_builder import build_open_clip

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(REPO, 'tests', 'fixtures', 'configs',
                  'clip_zeroshot_tiny.py')


@pytest.fixture(scope='module')
def clip_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp('clip')
    torch.manual_seed(5)
    test, _ = build_open_clip('TinyCLIP-test', pretrained='random')
    world, _ = build_open_clip('TinyCLIP-world', pretrained='random')
    paths = dict(test=str(folder / 'tiny_test.bin'),
                 world=str(folder / 'tiny_world.bin'))
    torch.save(test.state_dict(), paths['test'])
    torch.save(world.state_dict(), paths['world'])
    return paths


def test_open_clip_file_as_checkpoint_is_refused(clip_files):
    model = get_model(Config.fromfile(CONFIG))
    with pytest.raises(CheckpointMismatchError) as err:
        check_checkpoint_fits(model, clip_files['test'],
                              clip_option='--clip-checkpoint FILE')
    text = str(err.value)
    assert 'tiny_test.bin is an open_clip / OpenAI CLIP weights file' in text
    assert 'image_size=32, patch_size=8' in text
    assert '--clip-checkpoint FILE' in text
    with pytest.raises(CheckpointMismatchError):
        get_model(Config.fromfile(CONFIG), pretrained=clip_files['test'])
    with pytest.raises(CheckpointMismatchError):
        MultiLabelInferencer(CONFIG, pretrained=clip_files['test'])


def test_checkpoint_of_another_model_is_refused(tmp_path):
    from tests.fixtures.tiny_granzsl import build_tiny_granzsl
    ckpt = str(tmp_path / 'granzsl.pth')
    torch.save(dict(state_dict=build_tiny_granzsl().state_dict(), meta=dict(
        cfg="model = dict(type='GranZSL', num_classes=5)")), ckpt)
    with pytest.raises(CheckpointMismatchError,
                       match='a checkpoint of a GranZSL model; it does not '
                       'fit the ZeroShotMultiLabelClassifier'):
        get_model(Config.fromfile(CONFIG), pretrained=ckpt)


def test_fitting_checkpoint_loads(tmp_path):
    torch.manual_seed(2)
    model = get_model(Config.fromfile(CONFIG))
    ckpt = str(tmp_path / 'ok.pth')
    torch.save(dict(state_dict=model.state_dict(), meta={}), ckpt)
    loaded = get_model(Config.fromfile(CONFIG), pretrained=ckpt)
    for key, value in model.state_dict().items():
        assert torch.equal(loaded.state_dict()[key], value)


def test_set_clip_weights_and_wrong_architecture(clip_files):
    cfg = Config.fromfile(CONFIG)
    set_clip_weights(cfg, clip_files['test'], option='--clip-checkpoint')
    assert cfg.model.backbone.pretrained == clip_files['test']
    model = get_model(cfg)
    ref = torch.load(clip_files['test'])
    assert torch.equal(model.backbone.clip.visual.conv1.weight,
                       ref['visual.conv1.weight'])
    assert clip_architecture(ref)['embed_dim'] == 32
    with pytest.raises(ClipWeightsError) as err:
        set_clip_weights(Config.fromfile(CONFIG), clip_files['world'],
                         option='--clip-checkpoint')
    text = str(err.value)
    assert text.startswith('--clip-checkpoint: tiny_world.bin holds a CLIP '
                           'with image_size=48')
    assert "config asks for 'TinyCLIP-test' (image_size=32" in text
    # the same file set directly in the config: no bare AssertionError
    with pytest.raises(ClipWeightsError, match='holds a CLIP with'):
        get_model(CONFIG, **{'model.backbone.pretrained':
                             clip_files['world']})


def test_our_checkpoint_as_clip_weights_is_refused(tmp_path):
    model = get_model(Config.fromfile(CONFIG))
    ckpt = str(tmp_path / 'ours.pth')
    torch.save(dict(state_dict=model.state_dict(), meta={}), ckpt)
    with pytest.raises(ClipWeightsError, match='goes to --checkpoint'):
        set_clip_weights(Config.fromfile(CONFIG), ckpt)


def test_offline_error_names_the_option():
    with pytest.raises(OfflineWeightsError,
                       match='with --clip-checkpoint FILE'):
        with weights_option('--clip-checkpoint FILE'):
            raise RuntimeError("open_clip weights 'ViT-B-16'/'openai' are "
                               'not cached and this machine is offline. '
                               'Download them ...')


@pytest.mark.slow
def test_infer_tool_refuses_open_clip_checkpoint(clip_files, tmp_path):
    from PIL import Image
    Image.new('RGB', (40, 40)).save(tmp_path / 'a.png')
    env = dict(os.environ, PYTHONPATH=REPO, OMP_NUM_THREADS='1')
    proc = subprocess.run(
        [sys.executable, 'tools/infer.py', CONFIG, str(tmp_path / 'a.png'),
         '--checkpoint', clip_files['test'], '--out',
         str(tmp_path / 'r.json'), '--text-cache-dir', 'none'], cwd=REPO,
        env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert 'is an open_clip / OpenAI CLIP weights file' in proc.stderr
    assert '--clip-checkpoint FILE' in proc.stderr
    assert not (tmp_path / 'r.json').exists()
