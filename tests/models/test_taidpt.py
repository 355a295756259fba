"""TaI-DPT against its reference code on the same formula weights.

Golden values: ``tests/fixtures/golden/taidpt_golden.npz``, recorded by
running ``guozix/TaI-DPT`` @ 1333eca (``trainers/Caption_distill_double.py:
DenseCLIP``, ``trainers/utils.py: ranking_loss``, ``clip/model.py:
build_model``, ``dassl/evaluation/evaluator.py: mAP``) on a tiny CLIP ResNet
(layers 1-1-1-1, width 8, text width 128) whose weights come from
``tests/fixtures/formula_weights``; see ``tests/fixtures/golden/README.md``
and ``record_taidpt.py``. Three captions train (global and local logits,
the double ranking loss, the contexts' gradients); images of 64 x 64 and
96 x 64 test (global, local and merged logits), with the image softmax
temperature of the COCO / VOC (40) and NUS-WIDE (4) recipes.

Tolerances (absolute). float64 (both sides; the reference with its
LayerNorm's float32 cast removed): 1e-5 on everything (measured < 5e-13).
float32 (the reference unchanged): 1e-5 on image logits (measured 2.0e-6),
5e-5 on caption logits and the loss (measured 1.7e-5, 4.8e-6) and 5e-4 on
the contexts' gradients (measured 2.0e-4, on values up to 6.9): the
reference's own float32 run is that far from its float64 run (1.2e-5 on
caption logits, 1.9e-5 on the loss, 1.7e-4 on gradients; ours: 1.6e-5,
2.3e-5, 2.2e-4), the caption tokens' softmax at temperature 50 amplifying
the text towers' float32 rounding (open_clip batch-first and cut at the
longest caption, the reference sequence-first over 77 tokens).
"""
import numpy as np
import pytest
import torch
from mmpretrain.structures import DataSample

from granzsl_mm import register_all_modules
from granzsl_mm.evaluation.functional import multilabel_zsl_metrics
from granzsl_mm.models.backbones import build_open_clip
from granzsl_mm.models.losses import hinge_ranking_loss
from granzsl_mm.registry import MODELS
from tests.fixtures.formula_weights import fill_with_formula, formula_tensor

GOLDEN = 'tests/fixtures/golden/taidpt_golden.npz'
ATOL = 1e-5
# float32 tolerances per output (see the module docstring)
F32_ATOL = dict(text=5e-5, loss=5e-5, grad=5e-4, image=1e-5)
CLASSES = ['cat', 'dog', 'traffic light', 'zebra', 'hot_dog']
CAPTIONS = ['A cat sleeping next to a brown dog.',
            'a traffic light above a zebra crossing',
            'Two hot dogs on a plate, no cat.']
LABELS = torch.tensor([[1., 1, 0, 0, 0], [0, 0, 1, 1, 0], [1, 0, 0, 0, 1]])
IMAGES = {'64': ('images', (2, 3, 64, 64)),
          '96x64': ('images_wide', (2, 3, 96, 64))}
IMAGE_SCALE = {'coco': 40.0, 'nuswide': 4.0}
RN_TINY = dict(embed_dim=64, quick_gelu=True,
               vision_cfg=dict(image_size=224, layers=[1, 1, 1, 1], width=8,
                               patch_size=None),
               text_cfg=dict(context_length=77, vocab_size=49408, width=128,
                             heads=2, layers=2))


@pytest.fixture(scope='module')
def golden():
    register_all_modules()
    with np.load(GOLDEN) as data:
        return {k: data[k] for k in data.files}


@pytest.fixture(scope='module')
def weights(tmp_path_factory):
    """The formula weights as an open_clip checkpoint file."""
    register_all_modules()
    clip, _ = build_open_clip('RN-tiny', pretrained='random',
                              model_cfg=RN_TINY)
    fill_with_formula(clip)
    path = tmp_path_factory.mktemp('rn_tiny') / 'rn_tiny.pt'
    torch.save(clip.state_dict(), path)
    return str(path)


def build(weights, **options):
    model = MODELS.build(dict(
        type='TaIDPT',
        backbone=dict(type='OpenCLIPBackbone', arch='RN-tiny',
                      pretrained=weights, model_cfg=RN_TINY),
        num_classes=5, class_names=CLASSES, num_context_tokens=4,
        **options))
    with torch.no_grad():
        for prompt, key in ((model.global_prompt, 'ctx'),
                            (model.local_prompt, 'ctx_double')):
            prompt.context.copy_(formula_tensor(key, prompt.context.shape,
                                                0.02))
    return model.eval()


@pytest.mark.parametrize('precision', ['float64', 'float32'])
@pytest.mark.parametrize('setting', sorted(IMAGE_SCALE))
def test_forward_loss_and_gradients_match_the_reference(golden, weights,
                                                       setting, precision):
    prefix = f'{precision}/{setting}/'
    ref = {k[len(prefix):]: v for k, v in golden.items()
           if k.startswith(prefix)}
    dtype = getattr(torch, precision)
    model = build(weights,
                  image_spatial_scale=IMAGE_SCALE[setting]).to(dtype)
    model.backbone.dtype = dtype

    tol = (dict.fromkeys(F32_ATOL, ATOL) if precision == 'float64'
           else F32_ATOL)

    def check(actual, key, kind):
        np.testing.assert_allclose(np.asarray(actual), ref[key], rtol=0,
                                   atol=tol[kind], err_msg=key)

    # our tokenizer gives the reference's caption tokens
    tokens = model.text_encoder.tokenize(CAPTIONS)
    np.testing.assert_array_equal(tokens.numpy(), ref['caption_tokens'])
    with torch.no_grad():
        glob, local = model.logits(CAPTIONS)
    check(glob, 'text_global', 'text')
    check(local, 'text_local', 'text')
    samples = [DataSample().set_gt_score(t.to(dtype)) for t in LABELS]
    losses = model.loss(CAPTIONS, samples)
    loss = losses['loss_global'] + losses['loss_local']
    loss.backward()
    check(loss.item(), 'loss', 'loss')
    check(model.global_prompt.context.grad, 'grad_ctx', 'grad')
    check(model.local_prompt.context.grad, 'grad_ctx_double', 'grad')
    for tag, (key, shape) in IMAGES.items():
        images = formula_tensor(key, shape).to(dtype)
        with torch.no_grad():
            glob, local = model.logits(images)
        check(glob, f'{tag}/image_global', 'image')
        check(local, f'{tag}/image_local', 'image')
        scores = torch.stack([s.pred_score for s in model.predict(images)])
        check(scores, f'{tag}/image_merged', 'image')


def test_mean_ap_matches_the_reference_evaluation(golden):
    # the reference's MLClassification mAP: non-interpolated AP per class
    # over all test images, 100 x the mean over classes. Class 5 holds a
    # positive tied with a negative: the reference's reversed argsort ranks
    # the positive first, our tie rule (pessimistic) the negative.
    scores = golden['map_scores']
    targets = golden['map_targets']
    ours = multilabel_zsl_metrics(scores, targets, topk=(1, ),
                                  return_per_class=True)
    np.testing.assert_allclose(ours['per_class_AP'][:5],
                               golden['map_per_class'][:5], rtol=0,
                               atol=1e-5)
    assert ours['per_class_AP'][5] < golden['map_per_class'][5]
    assert golden['map_value'] == pytest.approx(
        golden['map_per_class'].mean(), abs=1e-9)


def test_loss_matches_a_direct_computation():
    scores = torch.tensor([[0.3, -1.0, 2.0, 0.1]], requires_grad=True)
    targets = torch.tensor([[1., 0., -1., 0.]])
    loss = hinge_ranking_loss(scores, targets)
    # pairs (pos 0, neg 1) and (pos 0, neg 3): max(0, 1 - 0.3 + s_n)
    want = max(0., 1 - 0.3 - 1.0) + max(0., 1 - 0.3 + 0.1)
    assert loss.item() == pytest.approx(want, abs=1e-6)
    loss.backward()
    assert scores.grad[0, 2] == 0  # unknown: in no pair


def test_only_the_contexts_train_and_checkpoints_hold_only_them(weights):
    model = build(weights)
    trainable = sorted(n for n, p in model.named_parameters()
                       if p.requires_grad)
    assert trainable == ['global_prompt.context', 'local_prompt.context']
    assert sorted(model.state_dict()) == trainable
    model.train()
    assert not model.backbone.clip.training


def test_seen_classes_train_and_all_classes_score(weights):
    model = build(weights, num_seen_classes=3)
    samples = [DataSample().set_gt_score(t) for t in LABELS]
    losses = model.loss(CAPTIONS, samples)
    assert set(losses) == {'loss_global', 'loss_local'}
    images = formula_tensor('images', (2, 3, 64, 64))
    assert model.predict(images)[0].pred_score.shape == (5, )
