"""DualCoOp against its reference code on the same formula weights.

Golden values: ``tests/fixtures/golden/dualcoop_golden.npz``, recorded by
running ``sunxm2357/DualCoOp`` (``models/dualcoop.py: DualCoop``,
``clip/model.py: build_model_conv_proj``, ``utils/asymmetric_loss.py:
AsymmetricLoss``) on a tiny CLIP ResNet (layers 1-1-1-1, width 8, text width
128) whose weights come from ``tests/fixtures/formula_weights``; see
``tests/fixtures/golden/README.md``.

Tolerances (absolute). float64 (both sides; the reference with its
LayerNorm's float32 cast removed): 1e-5 on everything (measured < 1e-6).
float32 (the reference unchanged): 1e-5 on region tokens and the loss, 2e-5
on gradients (measured 4.4e-6) and 5e-5 on logits (measured 3.0e-5): the
logits are 100 x (20 x 5) cosines, and the text towers' float32 features
(open_clip batch-first, the reference sequence-first) differ by ~1e-6.
"""
import numpy as np
import pytest
import torch
from mmpretrain.structures import DataSample

from granzsl_mm import register_all_modules
from granzsl_mm.models.backbones import build_open_clip
from granzsl_mm.models.losses import dual_asymmetric_loss
from granzsl_mm.registry import MODELS
from tests.fixtures.formula_weights import fill_with_formula, formula_tensor

GOLDEN = 'tests/fixtures/golden/dualcoop_golden.npz'
ATOL = 1e-5
# float32 tolerances per output (see the module docstring)
F32_ATOL = dict(regions=1e-5, logits=5e-5, loss=1e-5, grad=2e-5, ctx=1e-5)
CLASSES = ['cat', 'dog', 'traffic light', 'zebra', 'hot_dog']
TARGETS = torch.tensor([[1., 0, -1, 0, 1], [0, 1, 1, -1, 0]])
SEEN = [0, 1, 2]
RN_TINY = dict(embed_dim=64, quick_gelu=True,
               vision_cfg=dict(image_size=224, layers=[1, 1, 1, 1], width=8,
                               patch_size=None),
               text_cfg=dict(context_length=77, vocab_size=49408, width=128,
                             heads=2, layers=2))
CASES = {  # golden key: (input size, model options, contexts from formula)
    'shared64': (64, dict(num_context_tokens=4,
                          num_negative_context_tokens=3), True),
    'shared224': (224, dict(num_context_tokens=4,
                            num_negative_context_tokens=3), True),
    'csc_init64': (64, dict(class_specific=True, positive_init='a photo of a',
                            negative_init='no photo_of'), False),
}


@pytest.fixture(scope='module')
def golden():
    register_all_modules()
    with np.load(GOLDEN) as data:
        return {k: data[k] for k in data.files}


@pytest.fixture(scope='module')
def weights(tmp_path_factory):
    """The formula weights as an open_clip checkpoint file (loaded at build
    time, as pretrained weights are: the init words read them)."""
    register_all_modules()
    clip, _ = build_open_clip('RN-tiny', pretrained='random',
                              model_cfg=RN_TINY)
    fill_with_formula(clip)
    path = tmp_path_factory.mktemp('rn_tiny') / 'rn_tiny.pt'
    torch.save(clip.state_dict(), path)
    return str(path)


def build(weights, options, formula_context):
    model = MODELS.build(dict(
        type='DualCoOp',
        backbone=dict(type='OpenCLIPBackbone', arch='RN-tiny',
                      pretrained=weights, model_cfg=RN_TINY),
        num_classes=5, num_seen_classes=3, class_names=CLASSES,
        loss=dict(type='DualAsymmetricLoss', loss_weight=0.01), **options))
    if formula_context:
        with torch.no_grad():
            for prompt, key in ((model.positive_prompt, 'ctx_pos'),
                                (model.negative_prompt, 'ctx_neg')):
                prompt.context.copy_(formula_tensor(
                    key, prompt.context.shape, 0.02))
    return model.eval()


@pytest.mark.parametrize('precision', ['float64', 'float32'])
@pytest.mark.parametrize('case', sorted(CASES))
def test_forward_loss_and_gradients_match_the_reference(golden, weights,
                                                       case, precision):
    size, options, formula_context = CASES[case]
    prefix = f'{precision}/{case}/'
    ref = {k[len(prefix):]: v for k, v in golden.items()
           if k.startswith(prefix)}
    tol = (dict.fromkeys(F32_ATOL, ATOL) if precision == 'float64'
           else F32_ATOL)
    dtype = getattr(torch, precision)
    model = build(weights, options, formula_context).to(dtype)
    model.backbone.dtype = dtype
    images = formula_tensor('images', (2, 3, size, size)).to(dtype)

    def check(actual, key, kind):
        np.testing.assert_allclose(np.asarray(actual), ref[key], rtol=0,
                                   atol=tol[kind], err_msg=key)

    # initial contexts (CSC: from the init words' token embeddings)
    check(model.positive_prompt.context.detach(), 'ctx_pos', 'ctx')
    check(model.negative_prompt.context.detach(), 'ctx_neg', 'ctx')
    with torch.no_grad():
        _, regions = model.backbone.forward_regions(images)
        logits = model.logits(images)
    check(regions, 'regions', 'regions')
    check(logits, 'logits', 'logits')
    samples = [DataSample().set_gt_score(t.to(dtype)) for t in TARGETS]
    loss = model.loss(images, samples)['loss_asl']
    loss.backward()
    check(loss.item(), 'loss', 'loss')
    check(model.positive_prompt.context.grad, 'grad_ctx_pos', 'grad')
    check(model.negative_prompt.context.grad, 'grad_ctx_neg', 'grad')
    # scores: the positive's probability; unseen columns = the ZSL scores
    scores = torch.stack([s.pred_score for s in model.predict(images)])
    want = torch.from_numpy(ref['logits']).softmax(1)[:, 1]
    np.testing.assert_allclose(scores.numpy(), want.numpy(), rtol=0,
                               atol=tol['ctx'])


def test_loss_matches_a_direct_computation():
    logits = torch.tensor([[[0.3, -1.0, 2.0], [1.0, 0.5, -0.2]]],
                          requires_grad=True)
    targets = torch.tensor([[1., 0., -1.]])
    loss = dual_asymmetric_loss(logits, targets)
    p = torch.softmax(logits.detach(), 1)
    # class 0 positive: -(1 - p)^1 log p ; class 1 negative, clipped q
    pos, q = p[0, 1, 0], min(p[0, 0, 1] + 0.05, 1.0)
    want = -((1 - pos) * torch.log(pos) + (1 - q) ** 2 * torch.log(q))
    assert loss.item() == pytest.approx(want.item(), abs=1e-6)
    loss.backward()
    assert logits.grad[0, :, 2].abs().sum() == 0  # unknown label: no grad
    with pytest.raises(ValueError, match=r'\[B, 2, C\]'):
        dual_asymmetric_loss(logits[:, :1], targets)
    with pytest.raises(ValueError):
        dual_asymmetric_loss(logits.detach(), torch.tensor([[2., 0., 1.]]))


def test_only_the_contexts_train_and_checkpoints_hold_only_them(weights):
    model = build(weights, dict(num_context_tokens=2), True)
    trainable = sorted(n for n, p in model.named_parameters()
                       if p.requires_grad)
    assert trainable == ['negative_prompt.context', 'positive_prompt.context']
    assert sorted(model.state_dict()) == trainable
    model.train()
    assert not model.backbone.clip.training  # frozen batch norms
