"""SigLIP zero-shot configs: open_clip's metadata, tiny random builds."""
import copy
import json
import os.path as osp

import numpy as np
import open_clip
import pytest
import torch
from mmengine.config import Config

from granzsl_mm import register_all_modules
from granzsl_mm.registry import MODELS
from granzsl_mm.structures.constants import SIGLIP_MEAN, SIGLIP_STD
from tests.fixtures.tiny_siglip import TINY_SIGLIP
from tests.fixtures.tiny_siglip import TINY_SIGLIP_ARCH as TINY_ARCH

ROOT = osp.join(osp.dirname(__file__), '..', '..')
NAMES = ['siglip_zeroshot_coco.py', 'siglip_zeroshot_nuswide.py',
         'siglip_zeroshot_openimages.py']


def _load(name):
    return Config.fromfile(osp.join(ROOT, 'configs', name))


@pytest.mark.parametrize('name', NAMES)
def test_preprocessing_is_open_clips_metadata(name):
    """Read from open_clip's tables: nothing is downloaded."""
    cfg = _load(name)
    bb = cfg.model.backbone
    assert (bb.type, bb.arch, bb.pretrained) == ('SigLIPBackbone',
                                                 'ViT-B-16-SigLIP', 'webli')
    meta = open_clip.get_pretrained_cfg(bb.arch, bb.pretrained)
    arch = open_clip.get_model_config(bb.arch)
    prep = cfg.model.data_preprocessor
    assert np.allclose(prep.mean, [v * 255 for v in meta['mean']])
    assert np.allclose(prep.std, [v * 255 for v in meta['std']])
    assert tuple(prep.mean) == SIGLIP_MEAN and tuple(prep.std) == SIGLIP_STD
    size = arch['vision_cfg']['image_size']
    resize = cfg.test_pipeline[1]
    assert meta['resize_mode'] == 'squash'  # the whole image, no crop
    assert (resize.type, tuple(resize.scale), resize.interpolation) == (
        'Resize', (size, size), meta['interpolation'])
    assert cfg.test_dataloader.dataset.pipeline == cfg.test_pipeline
    # the tokenizer is the architecture's (open_clip picks it by name)
    assert arch['text_cfg']['hf_tokenizer_name'] == 'timm/ViT-B-16-SigLIP'
    # independent sigmoid scores with the learned bias, no softmax
    m = cfg.model
    assert (m.score_mode, m.score_act, m.logit_scale, m.logit_bias) == (
        'global', 'sigmoid', 'clip', 'clip')


@pytest.mark.parametrize('name', NAMES)
def test_tiny_random_tower_scores(name, tmp_path):
    register_all_modules()
    cfg = _load(name)
    cfg.model.backbone = dict(type='SigLIPBackbone', arch=TINY_ARCH,
                              pretrained='random',
                              model_cfg=copy.deepcopy(TINY_SIGLIP))
    cfg.model.templates = 'single'
    if name != 'siglip_zeroshot_coco.py':  # the others read split files
        split = tmp_path / 'split.json'
        split.write_text(json.dumps(dict(seen=['a', 'b', 'c'], unseen=['d'])))
        cfg.model.class_names = str(split)
    model = MODELS.build(cfg.model).eval()
    x = [torch.randint(0, 256, (3, 64, 64), dtype=torch.uint8)
         for _ in range(2)]
    samples = model.test_step(dict(inputs=x))
    num = len(model.class_names)
    score = samples[0].pred_score
    assert score.shape == (num, )
    assert ((score > 0) & (score < 1)).all()
    assert samples[0].pred_score_zsl.shape == (num - model.num_seen_classes, )
    # per label: the unseen scores do not depend on the seen ones
    torch.testing.assert_close(samples[0].pred_score_zsl,
                               score[model.num_seen_classes:])


def test_clip_checkpoint_random_reaches_the_siglip_tower():
    """``--clip-checkpoint random`` (``set_clip_weights``) sets the SigLIP
    tower's weights as it does a CLIP's."""
    from granzsl_mm.apis.weights import set_clip_weights
    cfg = _load('siglip_zeroshot_coco.py')
    set_clip_weights(cfg, 'random')
    assert cfg.model.backbone.pretrained == 'random'
