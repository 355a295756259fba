"""OpenCLIPBackbone / build_open_clip against open_clip's own forward."""
import pytest
import torch
import torch.nn.functional as F

from granzsl_mm.models.backbones import OpenCLIPBackbone, build_open_clip
from granzsl_mm.registry import MODELS

TINY = 'TinyCLIP-test'


@pytest.fixture(scope='module')
def backbone():
    torch.manual_seed(0)
    return OpenCLIPBackbone(TINY, pretrained='random', dense_mode='plain')


def test_global_equals_encode_image(backbone):
    x = torch.randn(3, 3, 32, 32)
    with torch.no_grad():
        glob, dense = backbone(x)
        ref = backbone.clip.encode_image(x)
    assert glob.shape == (3, 32) and dense.shape == (3, 16, 32)
    assert (glob - ref).abs().max() < 1e-5


def test_plain_dense_equals_open_clip_tokens(backbone):
    visual = backbone.clip.visual
    x = torch.randn(2, 3, 32, 32)
    visual.output_tokens = True
    try:
        with torch.no_grad():
            pooled, tokens = visual(x)
            _, dense = backbone(x)
    finally:
        visual.output_tokens = False
    # open_clip returns the tokens after ln_post, before proj.
    assert (dense - tokens @ visual.proj).abs().max() < 1e-5


def _straight_clearclip(visual, x):
    """Independent ClearCLIP: explicit per-head loops, no helpers."""
    tok = visual.conv1(x).flatten(2).transpose(1, 2)
    cls = visual.class_embedding.expand(x.shape[0], 1, -1)
    h = visual.ln_pre(torch.cat([cls, tok], 1) + visual.positional_embedding)
    for blk in visual.transformer.resblocks[:-1]:
        h = blk(h)
    blk = visual.transformer.resblocks[-1]
    y = blk.ln_1(h)
    width = y.shape[-1]
    heads = blk.attn.num_heads
    d = width // heads
    w_q = blk.attn.in_proj_weight[:width]
    b_q = blk.attn.in_proj_bias[:width]
    w_v = blk.attn.in_proj_weight[2 * width:]
    b_v = blk.attn.in_proj_bias[2 * width:]
    q = y @ w_q.T + b_q
    v = y @ w_v.T + b_v
    outs = []
    for i in range(heads):
        qi, vi = q[..., i * d:(i + 1) * d], v[..., i * d:(i + 1) * d]
        att = torch.softmax(qi @ qi.transpose(1, 2) / d ** 0.5, dim=-1)
        outs.append(att @ vi)
    out = blk.attn.out_proj(torch.cat(outs, -1))
    return visual.ln_post(out[:, 1:]) @ visual.proj


def test_clearclip_dense_matches_straight_computation(backbone):
    cc = OpenCLIPBackbone(TINY, pretrained='random', dense_mode='clearclip')
    cc.clip.load_state_dict(backbone.clip.state_dict())
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        glob, dense = cc(x)
        ref = _straight_clearclip(cc.clip.visual, x)
        assert (glob - cc.clip.encode_image(x)).abs().max() < 1e-5
    assert dense.shape == (2, 16, 32)
    assert (dense - ref).abs().max() < 1e-5
    _, plain = backbone(x)
    assert (dense - plain).abs().max() > 1e-3  # really a different path


def test_other_image_size_interpolates(backbone):
    x = torch.randn(1, 3, 48, 64)
    with torch.no_grad():
        glob, dense = backbone(x)
    assert glob.shape == (1, 32) and dense.shape == (1, 6 * 8, 32)
    assert torch.isfinite(dense).all()
    with pytest.raises(RuntimeError):
        backbone.clip.encode_image(x)


def test_trainable_blocks_and_layer_depth():
    bb = OpenCLIPBackbone(TINY, pretrained='random', trainable_blocks_from=1)
    trainable = {n for n, p in bb.named_parameters() if p.requires_grad}
    assert trainable and all(
        n.startswith(('clip.visual.transformer.resblocks.1.',
                      'clip.visual.ln_post', 'clip.visual.proj'))
        for n in trainable)
    assert 'clip.visual.proj' in trainable
    assert not any(p.requires_grad for p in OpenCLIPBackbone(TINY,
                                                             pretrained='random').parameters())
    depth = bb.get_layer_depth
    assert depth('clip.visual.conv1.weight') == (0, 4)
    assert depth('clip.visual.transformer.resblocks.0.ln_1.weight') == (1, 4)
    assert depth('backbone.clip.visual.transformer.resblocks.1.attn.in_proj_weight',
                 'backbone.') == (2, 4)
    assert depth('clip.visual.proj') == (3, 4)


def test_layer_decay_constructor_groups():
    from mmengine.optim import build_optim_wrapper
    from mmpretrain.models import ImageClassifier  # noqa: F401

    import granzsl_mm
    granzsl_mm.register_all_modules()
    model = MODELS.build(dict(
        type='mmpretrain.ImageClassifier',
        backbone=dict(type='OpenCLIPBackbone', pretrained='random',
                      arch=TINY, frozen=False,
                      out_type='global'),
        head=dict(type='mmpretrain.MultiLabelLinearClsHead', num_classes=3,
                  in_channels=32)))
    wrapper = build_optim_wrapper(model, dict(
        optimizer=dict(type='AdamW', lr=1e-3, weight_decay=0.05),
        constructor='mmpretrain.LearningRateDecayOptimWrapperConstructor',
        paramwise_cfg=dict(layer_decay_rate=0.65)))
    scales = {g['param_name']: g['lr_scale']
              for g in wrapper.optimizer.param_groups}
    conv = [s for n, s in scales.items() if 'visual.conv1' in n]
    blk1 = [s for n, s in scales.items() if 'resblocks.1.' in n]
    assert conv and blk1
    assert conv[0] == pytest.approx(0.65 ** 3)
    assert blk1[0] == pytest.approx(0.65 ** 1)


def test_model_cfg_dict_and_offline_tag():
    import json

    from tests.fixtures.tiny_override import TINY_MODEL_CFG_PATH
    cfg = json.load(open(TINY_MODEL_CFG_PATH))
    model, tok = build_open_clip('mine', pretrained='random', model_cfg=cfg)
    assert model.visual.proj.shape == (64, 32)
    assert tok(['a cat']).shape == (1, 77)
    with pytest.raises(ValueError, match='model_cfg'):
        build_open_clip('No-Such-Arch', pretrained='random')
    with pytest.raises(ValueError, match='tag'):
        build_open_clip(TINY, pretrained='no-such-tag')


def test_local_checkpoint_path(tmp_path):
    model, _ = build_open_clip(TINY, pretrained='random')
    path = tmp_path / 'w.pt'
    torch.save(model.state_dict(), path)
    again, _ = build_open_clip(TINY, pretrained=str(path))
    x = torch.randn(1, 3, 32, 32)
    with torch.no_grad():
        assert torch.allclose(model.encode_image(x), again.encode_image(x))


def test_bf16_precision():
    bb = OpenCLIPBackbone(TINY, pretrained='random',
                          precision='bf16', dense_mode='plain')
    glob, dense = bb(torch.randn(1, 3, 32, 32))
    assert glob.dtype == torch.bfloat16 and dense.shape == (1, 16, 32)
    assert F.cosine_similarity(glob.float(), glob.float()).item() > 0.99


@pytest.mark.parametrize('how', ['HF_HUB_OFFLINE', 'no_socket'])
def test_uncached_tag_offline_fails_fast(monkeypatch, how):
    import socket

    import open_clip

    from granzsl_mm.models.backbones import open_clip_builder as builder
    cfg = open_clip.get_pretrained_cfg('ViT-B-16', 'openai')
    if builder._tag_is_cached(cfg):
        pytest.skip('ViT-B-16/openai is cached on this machine')

    def no_build(*args, **kwargs):
        raise AssertionError('create_model must not run (no download try)')

    monkeypatch.setattr(open_clip, 'create_model', no_build)
    if how == 'HF_HUB_OFFLINE':
        monkeypatch.setenv('HF_HUB_OFFLINE', '1')
    else:
        monkeypatch.delenv('HF_HUB_OFFLINE', raising=False)

        def refuse(*args, **kwargs):
            raise OSError('network is unreachable')

        monkeypatch.setattr(socket, 'create_connection', refuse)
    with pytest.raises(RuntimeError) as info:
        OpenCLIPBackbone('ViT-B-16', pretrained='openai')
    msg = str(info.value)
    assert "'ViT-B-16'/'openai'" in msg and 'offline' in msg
    assert 'pretrained=/path/to/checkpoint.pt' in msg



def test_global_from_the_cls_row_of_the_last_block():
    """Without the last block's patch tokens only its CLS row is computed:
    the global features and their gradients equal the full block's."""
    torch.manual_seed(0)
    x = torch.randn(3, 3, 32, 32)
    models = [OpenCLIPBackbone(TINY, pretrained='random', frozen=False,
                               dense_mode=m)
              for m in ('plain', None, 'clearclip', 'tagclip')]
    grads = []
    for model in models:
        model.clip.load_state_dict(models[0].clip.state_dict())
        glob = model(x)[0]
        (glob * torch.arange(glob.shape[1])).sum().backward()
        blk = model.clip.visual.transformer.resblocks[-1]
        grads.append((glob.detach(), blk.attn.in_proj_weight.grad,
                      blk.mlp.c_fc.weight.grad,
                      model.clip.visual.conv1.weight.grad))
    for other in grads[1:]:
        for ref, got in zip(grads[0], other):
            assert (ref - got).abs().max() < 1e-5 * max(1.0,
                                                        ref.abs().max())
