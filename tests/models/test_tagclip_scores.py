"""TagCLIP's training-free scores against its reference implementation.

Golden outputs: ``tests/fixtures/golden/tagclip_golden.npz``, recorded from
``linyq2117/TagCLIP`` @ c32b640 (``classify.py``'s per-image block run
unchanged, see the fixture README) on the tiny tower and seeded weights
below. Tolerance: 1e-5 absolute (float32); measured max difference 4e-8.
"""
import math
import os.path as osp

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from granzsl_mm.models.backbones import OpenCLIPBackbone
from granzsl_mm.models.backbones.tagclip_tower import (
    attention_block,
    tagclip_dense_pass,
)
from granzsl_mm.models.classifiers.tagclip_scores import (
    attention_affinity,
    region_boxes,
)
from granzsl_mm.models.classifiers.zero_shot import (
    ZeroShotMultiLabelClassifier,
)

GOLDEN = osp.join(osp.dirname(osp.dirname(__file__)), 'fixtures', 'golden',
                  'tagclip_golden.npz')
TOL = 1e-5
# 12 blocks, patch 16, 224 px and 64-wide heads: the reference hard-codes
# them (block 11 is the last, blocks 8..10 are averaged).
TAGCLIP_TINY = dict(
    embed_dim=32, quick_gelu=True,
    vision_cfg=dict(image_size=224, layers=12, width=128, patch_size=16,
                    head_width=64),
    text_cfg=dict(context_length=77, vocab_size=49408, width=64, heads=1,
                  layers=2))
CLASSES = ['cat', 'dog', 'car', 'person', 'bus', 'tree house']
BACKGROUND = ['sky', 'grass', 'road']
IMAGES = dict(square=(224, 224), wide=(160, 256))


def seed_weights(clip: torch.nn.Module, seed: int = 0) -> None:
    """The weights the golden outputs were recorded with (sorted names)."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, param in sorted(clip.named_parameters()):
            if name == 'logit_scale':
                param.fill_(math.log(1 / 0.07))
                continue
            noise = torch.randn(param.shape, generator=gen)
            if 'ln' in name and name.endswith('weight'):
                param.copy_(1 + 0.1 * noise)
            else:
                param.copy_(0.05 * noise)


def golden_images():
    gen = torch.Generator().manual_seed(1)
    return {key: torch.randn((1, 3, h, w), generator=gen)
            for key, (h, w) in IMAGES.items()}


@pytest.fixture(scope='module')
def model():
    backbone = OpenCLIPBackbone(arch='TagCLIP-test', pretrained='random',
                                model_cfg=TAGCLIP_TINY)
    seed_weights(backbone.clip)
    return ZeroShotMultiLabelClassifier(
        backbone=backbone, class_names=CLASSES, num_seen_classes=4,
        templates='tagclip_85', score_mode='tagclip',
        tagclip=dict(background=BACKGROUND)).eval()


@pytest.fixture(scope='module')
def golden():
    return np.load(GOLDEN)


def test_prompt_ensemble_matches_reference(model, golden):
    words = torch.cat([model.class_embeddings(),
                       model.embed_words(BACKGROUND)[0]])
    np.testing.assert_allclose(words.numpy(), golden['text_features'],
                               atol=TOL, rtol=0)


def test_dense_pass_matches_reference(model, golden):
    for key, image in golden_images().items():
        with torch.no_grad():
            tokens, maps = tagclip_dense_pass(model.backbone, image)
        np.testing.assert_allclose(F.normalize(tokens[0], dim=-1).numpy(),
                                   golden[f'{key}_tokens'], atol=TOL, rtol=0)
        assert maps.shape == (1, 12) + (tokens.shape[1], ) * 2


def test_scores_match_reference(model, golden):
    for key, image in golden_images().items():
        with torch.no_grad():
            scores = model.forward_tensor(image)[0].numpy()
            top = model.tagclip.scores(
                model.backbone, image, model.class_embeddings(),
                model.embed_words(BACKGROUND)[0], model.logit_scale)
        np.testing.assert_allclose(scores, golden[f'{key}_scores'],
                                   atol=TOL, rtol=0)
        model.tagclip.reweight = False
        try:
            with torch.no_grad():
                before = model.forward_tensor(image)[0].numpy()
        finally:
            model.tagclip.reweight = True
        np.testing.assert_allclose(before, golden[f'{key}_top'], atol=TOL,
                                   rtol=0)
        # the class-wise reweighting changed some classes
        assert np.abs(before - scores).max() > 1e-3
        np.testing.assert_allclose(top[0].numpy(), scores, atol=1e-7)


def test_zsl_scores_come_from_their_own_softmax(model):
    image = golden_images()['square']
    sample = model.predict(image)[0]
    unseen = model.class_embeddings()[4:]
    with torch.no_grad():
        alone = model.tagclip_scores(image, unseen)[0]
    torch.testing.assert_close(sample.pred_score_zsl, alone)
    assert not torch.allclose(sample.pred_score_zsl, sample.pred_score[4:])


def test_attention_block_is_the_open_clip_block(model):
    block = model.backbone.clip.visual.transformer.resblocks[3]
    x = torch.randn(2, 10, 128, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        ours, maps = attention_block(block, x)
        theirs = block(x)
    torch.testing.assert_close(ours, theirs, atol=1e-5, rtol=0)
    torch.testing.assert_close(maps.sum(-1), torch.ones(2, 10))


def test_tagclip_dense_mode_is_the_dense_pass(model):
    # on the tower's own grid: the dense pass interpolates the positional
    # embedding bilinearly (as the reference), the backbone bicubically
    image = golden_images()['square']
    backbone = model.backbone
    with torch.no_grad():
        plain_glob, _ = backbone(image)
        backbone.dense_mode = 'tagclip'
        try:
            glob, dense = backbone(image)
        finally:
            backbone.dense_mode = None
        tokens, _ = tagclip_dense_pass(backbone, image)
    torch.testing.assert_close(dense, tokens[:, 1:], atol=1e-5, rtol=0)
    torch.testing.assert_close(glob, plain_glob)


def test_affinity_votes_and_layers():
    maps = torch.rand(12, 5, 5, generator=torch.Generator().manual_seed(3))
    out = attention_affinity(maps)
    votes = (maps > maps.mean(dim=(1, 2), keepdim=True)).sum(0) >= 4
    torch.testing.assert_close(out, maps[8:11].mean(0) * votes)


def test_region_boxes_clip_right_and_bottom_edges():
    score = np.zeros((6, 8), np.float32)
    score[1:3, 1:3] = 1.0
    score[4:6, 5:8] = 0.9  # touches both far edges
    boxes = sorted(region_boxes(score, 0.5))
    assert boxes == [(1, 1, 3, 3), (5, 4, 7, 5)]
    assert region_boxes(np.zeros((3, 3), np.float32), 0.5) == [(0, 0, 0, 0)]
