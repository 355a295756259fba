"""SigLIPBackbone: open_clip's own SigLIP forward is the reference.

A tiny random SigLIP-style model (timm ``test_vit`` with a MAP head, a
non-causal last-token text tower, a learned logit bias): our global feature
equals ``model.encode_image`` and our sigmoid scores equal
``sigmoid(s * cos + b)`` from ``model(image, text)`` within 1e-5 (measured:
0 and < 1e-7).
"""
import pytest
import torch
import torch.nn.functional as F
from mmengine.optim import OptimWrapper
from mmpretrain.structures import DataSample

from granzsl_mm import register_all_modules
from granzsl_mm.models.backbones import OpenCLIPBackbone, SigLIPBackbone
from granzsl_mm.models.classifiers.zero_shot import (
    ZeroShotMultiLabelClassifier,
)
from granzsl_mm.registry import MODELS
from granzsl_mm.structures.constants import SIGLIP_MEAN, SIGLIP_STD
from tests.fixtures.tiny_siglip import TINY_SIGLIP, TINY_SIGLIP_ARCH

TINY_ARCH = TINY_SIGLIP_ARCH
WORDS = ['cat', 'dog', 'car', 'tree', 'boat']
TOL = 1e-5


@pytest.fixture(scope='module')
def backbone():
    torch.manual_seed(0)
    tower = SigLIPBackbone(arch=TINY_ARCH, pretrained='random',
                           model_cfg=TINY_SIGLIP, dense_mode='plain')
    with torch.no_grad():  # a bias and scale away from their inits
        tower.clip.logit_bias.fill_(-2.5)
        tower.clip.logit_scale.fill_(1.5)
    return tower


def _images(num=2, seed=1):
    return torch.randn(num, 3, 64, 64,
                       generator=torch.Generator().manual_seed(seed))


def test_global_is_open_clips_encode_image(backbone):
    x = _images()
    with torch.no_grad():
        glob, dense = backbone(x)
        ref = backbone.clip.encode_image(x)
    assert (glob - ref).abs().max() <= TOL
    assert dense.shape == (2, 16, 64)  # 4 x 4 patches of 16 px


def test_dense_is_the_map_head_attending_to_one_patch(backbone):
    x = _images(1)
    trunk = backbone.trunk
    with torch.no_grad():
        _, dense = backbone(x)
        tokens = trunk.forward_features(x)[:, trunk.num_prefix_tokens:]
        for patch in (0, 5, 15):
            mask = torch.full((1, 1, 1, 16), float('-inf'))
            mask[..., patch] = 0
            pooled = trunk.attn_pool(tokens, attn_mask=mask)
            one = backbone.clip.visual.head(trunk.head(trunk.fc_norm(pooled)))
            torch.testing.assert_close(dense[0, patch], one[0], atol=TOL,
                                       rtol=0)


def test_sigmoid_scores_are_open_clips(backbone):
    model = ZeroShotMultiLabelClassifier(
        backbone=backbone, class_names=WORDS, templates='single',
        logit_scale='clip', logit_bias='clip', score_act='sigmoid').eval()
    x = _images()
    with torch.no_grad():
        ours = model.forward_tensor(x)
        text = backbone.tokenizer([f'a photo of a {w}.' for w in WORDS])
        image, words, scale, bias = backbone.clip(x, text)  # normalised
        ref = torch.sigmoid(scale * image @ words.t() + bias)
    assert (ours - ref).abs().max() <= TOL
    assert model.logit_bias == pytest.approx(-2.5)


def test_towers_refuse_each_other():
    with pytest.raises(TypeError, match='CLS token pooling'):
        OpenCLIPBackbone(arch=TINY_ARCH, pretrained='random',
                         model_cfg=TINY_SIGLIP)
    with pytest.raises(TypeError, match='MAP'):
        SigLIPBackbone(arch='TinyCLIP-test', pretrained='random')
    with pytest.raises(ValueError, match='ClearCLIP'):
        SigLIPBackbone(arch=TINY_ARCH, pretrained='random',
                       model_cfg=TINY_SIGLIP, dense_mode='clearclip')
    with pytest.raises(ValueError, match='logit_bias'):
        ZeroShotMultiLabelClassifier(
            backbone=dict(type='OpenCLIPBackbone', arch='TinyCLIP-test',
                          pretrained='random'),
            class_names=WORDS, logit_bias='clip')


def test_wrong_image_size_is_refused(backbone):
    with pytest.raises(ValueError, match='resize in the pipeline'):
        backbone(torch.zeros(1, 3, 48, 48))


def test_granzsl_name_reconstruction_runs_on_a_siglip_text_tower():
    register_all_modules()
    torch.manual_seed(0)
    model = MODELS.build(dict(
        type='GranZSL',
        backbone=dict(type='SigLIPBackbone', arch=TINY_ARCH,
                      pretrained='random', model_cfg=TINY_SIGLIP,
                      dense_mode='plain'),
        name_learner=dict(type='ClassNameLearner', num_tokens=2),
        num_classes=5, num_seen_classes=3, class_names=WORDS,
        logit_scale=20.0,
        data_preprocessor=dict(type='TextImageDataPreprocessor',
                               mean=SIGLIP_MEAN, std=SIGLIP_STD,
                               to_rgb=True)))
    texts = ['a cat, which is a pet.', 'a dog, which barks.',
             'a boat, which floats on water.', 'a photo of a car.']
    data = dict(inputs=texts, data_samples=[
        DataSample().set_gt_label(y) for y in [0, 1, 4, 2]])
    wrapper = OptimWrapper(torch.optim.SGD(
        [p for p in model.parameters() if p.requires_grad], lr=0.05))
    aligns = [model.train_step(data, wrapper)['loss_align'].item()
              for _ in range(6)]
    assert aligns[-1] < aligns[0]
    model.eval()
    with torch.no_grad():
        out = model.test_step(dict(inputs=[
            torch.randint(0, 256, (3, 64, 64), dtype=torch.uint8)]))
    assert out[0].pred_score.shape == (5, )
    assert torch.isfinite(out[0].pred_score).all()
    with torch.no_grad():
        names = model.name_learner(model.text_encoder)
    torch.testing.assert_close(names.norm(dim=-1), torch.ones(5))
    assert F.normalize(names, dim=-1).shape == (5, 64)
