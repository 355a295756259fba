"""OpenCLIPBackbone on open_clip's ModifiedResNet towers (RN50, RN101).

The global embedding is checked against open_clip's own forward; the region
tokens against DualCoOp's encoder in ``tests/models/test_dualcoop.py``
(golden values of the reference code).
"""
import pytest
import torch

from granzsl_mm.models.backbones import OpenCLIPBackbone
from granzsl_mm.models.backbones.open_clip_builder import resolve_quick_gelu
from tests.fixtures.formula_weights import fill_with_formula, formula_tensor

RN_TINY = dict(embed_dim=64, quick_gelu=True,
               vision_cfg=dict(image_size=64, layers=[1, 1, 1, 1], width=8,
                               patch_size=None),
               text_cfg=dict(context_length=77, vocab_size=49408, width=64,
                             heads=1, layers=1))


@pytest.fixture(scope='module')
def backbone():
    model = OpenCLIPBackbone(arch='RN-tiny', pretrained='random',
                             model_cfg=RN_TINY, dense_mode='plain')
    fill_with_formula(model.clip)
    return model.eval()


def test_global_is_open_clips_attention_pool_output(backbone):
    images = formula_tensor('images', (2, 3, 64, 64))
    with torch.no_grad():
        global_feat, dense = backbone(images)
        want = backbone.clip.encode_image(images)
    assert global_feat.shape == (2, 64) and dense.shape == (2, 4, 64)
    torch.testing.assert_close(global_feat, want, rtol=0, atol=1e-5)
    assert backbone.embed_dim == 64 and backbone.patch_size == (32, 32)


def test_dense_is_the_value_projection_at_every_position(backbone):
    images = formula_tensor('images', (1, 3, 96, 64))  # 3 x 2 grid
    pool = backbone.clip.visual.attnpool
    with torch.no_grad():
        _, dense = backbone(images)
        global_feat, regions = backbone.forward_regions(images)
        fmap = backbone.clip.visual.stem(images)
        for name in ('layer1', 'layer2', 'layer3', 'layer4'):
            fmap = getattr(backbone.clip.visual, name)(fmap)
        # independent: positions row-major, pos-embed resized 2x2 -> 3x2
        pos = pool.positional_embedding[1:].reshape(1, 2, 2, -1)
        pos = torch.nn.functional.interpolate(
            pos.permute(0, 3, 1, 2), size=(3, 2), mode='bicubic',
            align_corners=False).flatten(2)[0].t()
        x = fmap.flatten(2)[0].t() + pos
        want = pool.c_proj(pool.v_proj(x))
        mean = fmap.flatten(2)[0].mean(dim=1) + pool.positional_embedding[0]
    assert regions.shape == (1, 7, 64)
    torch.testing.assert_close(dense[0], want, rtol=0, atol=1e-5)
    torch.testing.assert_close(regions[0, 1:], want, rtol=0, atol=1e-5)
    torch.testing.assert_close(regions[0, 0], pool.c_proj(pool.v_proj(mean)),
                               rtol=0, atol=1e-5)
    backbone.out_type = 'global'
    try:
        assert len(backbone(images)) == 1
    finally:
        backbone.out_type = 'tuple'


@pytest.mark.parametrize('option', [dict(dense_mode='clearclip'),
                                    dict(trainable_blocks_from=1)])
def test_vit_only_options_are_refused_for_a_resnet(option):
    with pytest.raises(ValueError, match='ResNet tower'):
        OpenCLIPBackbone(arch='RN-tiny', pretrained='random',
                         model_cfg=RN_TINY, **option)


def test_openai_resnets_use_quick_gelu_as_their_metadata_says():
    for arch in ('RN50', 'RN101'):
        assert resolve_quick_gelu(arch, 'openai') is True


def test_vit_regions_are_the_projected_tokens_cls_first():
    vit = OpenCLIPBackbone(arch='TinyCLIP-test', pretrained='random',
                           dense_mode='plain').eval()
    images = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        global_feat, dense = vit(images)
        pooled, regions = vit.forward_regions(images)
    torch.testing.assert_close(pooled, global_feat)
    torch.testing.assert_close(regions, torch.cat([global_feat[:, None],
                                                   dense], dim=1))
