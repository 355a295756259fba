"""RecoverMatch against the reference code (``EricTan7/RAM``) on the same
tiny weights and inputs, and its plumbing.

Golden values: the reference at commit
f2073f994eeecb0adb9a8a4cec9d011e5e9aa8a7 (``RAM_Model`` of
``model/model.py`` with ``clip/model.py`` and ``clip/adapters.py``), run once
outside the project on the weights and inputs of
``tests/fixtures/recover_match_weights.py`` (our head tensors copied under
its names), with configs/coco.yml's values (OT_REG 0.1 from
config/defaults.py). Stubs around the unchanged reference: ``Tensor.cuda``
as identity (CPU), ``pkg_resources`` holding ``packaging``, a namespace for
its yacs config, and its ``load_clip_to_cpu`` without the download
(``clip.build_model`` + ``SAA_replace()`` + ``float()``). For the float64
values also: its float32-forcing ``LayerNorm`` as plain ``nn.LayerNorm``,
``Tensor.half`` as identity (the weights are exact in float16; the forward's
``.half()`` on the learnable tokens would round their gradients), and the
teacher's text features recomputed after ``.double()``.

Measured (our float64 run vs the reference's float64 run): scores 1.4e-13
(test time), 1.5e-7 (training; our frozen-text teacher features pass
through the float32 text cache), loss 5.8e-8, gradients 6e-7 relative. Float32
runs differ by up to 4.7e-5 in the scores: the matched logits are
similarities / 0.002, so float32 rounding of the similarities (~1e-7) is
amplified 500 times.
"""
import pytest
import torch
from mmpretrain.structures import DataSample

from granzsl_mm import register_all_modules
from granzsl_mm.registry import MODELS
from tests.fixtures import recover_match_weights as W

GOLDEN_F64 = {
    'loss': 3.837234325576837,
    'train_score': [[0.28853645337108136, 0.2939400527668151, 0.41752349386210363], [0.3627209260969505, 0.2970691683160503, 0.34020990558699926]],  # noqa: E501
    'zsl': [[0.4639329197118748, 0.5360670802881253], [0.49060933978328447, 0.5093906602167155]],  # noqa: E501
    'gzsl': [[0.19727716115792404, 0.20652478446500827, 0.193417310357355, 0.19811714244086268, 0.20466360157884997], [0.19869333806704398, 0.20513822455204767, 0.1931567177905107, 0.20005461916183306, 0.20295710042856469]],  # noqa: E501
    'grad_local_temperature': -184.0259118315007,
    'grad_temperature': 0.9905166422686307,
    'grad_norm_adapter_11_out': 1.0280495383869095,
    'grad_norm_tokens_11': 0.008894179212735501,
    'grad_norm_prompts_11': 0.0037581192065984067,
}
GOLDEN_F32 = {
    'loss': 3.8372297286987305,
    'zsl': [[0.4639274477958679, 0.5360724925994873], [0.49061205983161926, 0.5093879699707031]],  # noqa: E501
    'gzsl': [[0.1972789466381073, 0.2065218985080719, 0.19341769814491272, 0.19811974465847015, 0.20466172695159912], [0.19869059324264526, 0.2051386833190918, 0.19315724074840546, 0.20005613565444946, 0.2029573619365692]],  # noqa: E501
}
TOL_F64 = 1e-6  # absolute, scores and loss; gradients: relative
TOL_F32 = 1e-4  # absolute: float32 rounding amplified by 1 / 0.002


def _model(dtype):
    register_all_modules()
    model = MODELS.build(dict(
        type='RecoverMatch',
        backbone=dict(type='OpenCLIPBackbone', arch='RM-golden',
                      model_cfg=W.MODEL_CFG, pretrained='random'),
        num_classes=5, num_seen_classes=W.NUM_SEEN, class_names=W.CLASSES,
        adapter_blocks=W.ADAPTER_BLOCKS, text_prompt_blocks=W.TEXT_BLOCKS,
        local_temperature=2e-3, ot_reg=0.1, ot_reg_knowledge=0.05))
    model.backbone.clip.load_state_dict(W.clip_state_dict(model.backbone.clip))
    model.load_state_dict(W.head_state_dict(model), strict=False)
    model.to(dtype)
    model.backbone.dtype = dtype
    return model


@pytest.fixture(scope='module')
def runs():
    out = {}
    torch.set_grad_enabled(True)
    for dtype in (torch.float64, torch.float32):
        model = _model(dtype)
        images, targets = W.inputs()
        images = images.to(dtype)
        model.train()
        glb, matched = model.set_logits(images, 'seen', targets)
        loss = model.loss_module(glb, targets) + model.loss_module(
            matched, targets)
        loss.backward()
        params = dict(model.named_parameters())
        res = dict(loss=loss.item(),
                   train_score=model.combine(glb, matched).detach(),
                   grad_local_temperature=params[
                       'local_temperature'].grad.item(),
                   grad_temperature=params['temperature'].grad.item(),
                   grad_norm_adapter_11_out=params[
                       'adapters.11.out.weight'].grad.norm().item(),
                   grad_norm_tokens_11=params[
                       'adapter_tokens.11'].grad.norm().item(),
                   grad_norm_prompts_11=params[
                       'text_prompts.11'].grad.norm().item())
        model.eval()
        with torch.no_grad():
            res['zsl'] = model.set_scores(images, 'unseen')
            res['gzsl'] = model.set_scores(images, 'all')
        out[dtype] = res
    return out


def test_float64_matches_the_reference(runs):
    res = runs[torch.float64]
    assert abs(res['loss'] - GOLDEN_F64['loss']) < TOL_F64
    for key in ('train_score', 'zsl', 'gzsl'):
        want = torch.tensor(GOLDEN_F64[key], dtype=torch.float64)
        assert (res[key] - want).abs().max() < TOL_F64, key
    for key in ('grad_local_temperature', 'grad_temperature',
                'grad_norm_adapter_11_out', 'grad_norm_tokens_11',
                'grad_norm_prompts_11'):
        want = GOLDEN_F64[key]
        assert abs(res[key] - want) <= 1e-5 * abs(want), key


def test_float32_matches_the_reference(runs):
    res = runs[torch.float32]
    assert abs(res['loss'] - GOLDEN_F32['loss']) < TOL_F32
    for key in ('zsl', 'gzsl'):
        want = torch.tensor(GOLDEN_F32[key])
        assert (res[key] - want).abs().max() < TOL_F32, key


def _tiny(**kw):
    register_all_modules()
    from tests.fixtures.tiny_override import tiny_model_cfg
    cfg = dict(type='RecoverMatch',
               backbone=dict(type='OpenCLIPBackbone', arch='TinyCLIP-test',
                             model_cfg=tiny_model_cfg(), pretrained='random'),
               num_classes=5, num_seen_classes=3,
               class_names=['cat', 'dog', 'car', 'bus', 'tree'],
               adapter_blocks=(1, ), text_prompt_blocks=(1, ))
    cfg.update(kw)
    return MODELS.build(cfg)


def test_tiny_trains_only_its_own_parameters_and_scores_both_sets():
    model = _tiny()
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert trainable and not any(n.startswith('backbone.') for n in trainable)
    assert not any(k.startswith('backbone.') for k in model.state_dict())
    images = torch.randn(2, 3, 32, 32)
    samples = [DataSample(gt_score=torch.tensor([1., 0, 0, -1, -1])),
               DataSample(gt_score=torch.tensor([0., 1, 1, -1, -1]))]
    model.train()
    losses = model.loss(images, samples)
    assert set(losses) == {'loss_global', 'loss_matched'}
    sum(losses.values()).backward()
    assert all(p.grad is None for n, p in model.named_parameters()
               if n.startswith('backbone.'))
    assert model.adapter_tokens['1'].grad.abs().sum() > 0
    assert model.text_prompts['1'].grad.abs().sum() > 0
    model.eval()
    out = model.predict(images)
    assert out[0].pred_score.shape == (5, )
    assert out[0].pred_score_zsl.shape == (2, )
    for s in out:  # each set's scores are a distribution over that set
        assert torch.allclose(s.pred_score.sum(), torch.tensor(1.0))
        assert torch.allclose(s.pred_score_zsl.sum(), torch.tensor(1.0))


def test_rejects_blocks_outside_the_tower():
    with pytest.raises(ValueError, match='adapter_blocks'):
        _tiny(adapter_blocks=(5, ))
