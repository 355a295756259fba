"""GranZSL model, class-name learner, preprocessor and snippet TTA (tiny CLIP)."""
import json
import os.path as osp

import pytest
import torch
import torch.nn.functional as F
from mmengine.optim import OptimWrapper
from mmpretrain.structures import DataSample

from granzsl_mm import register_all_modules
from granzsl_mm.models.tta import aggregate_snippets, cut_snippets, image_scores
from granzsl_mm.registry import MODELS
from granzsl_mm.structures.constants import CLIP_MEAN, CLIP_STD

TINY_CFG = osp.join(osp.dirname(__file__), '..', '..', 'granzsl_mm', 'models',
                    'backbones', 'model_configs', 'TinyCLIP-test.json')
NAMES = ['cat', 'dog', 'car', 'tree', 'boat']


def tiny_model_cfg():
    with open(TINY_CFG) as f:
        return json.load(f)


def build_model(**kwargs):
    register_all_modules()
    torch.manual_seed(0)
    cfg = dict(
        type='GranZSL',
        backbone=dict(type='OpenCLIPBackbone', arch='TinyCLIP-test',
                      pretrained='random', model_cfg=tiny_model_cfg(),
                      dense_mode='clearclip'),
        name_learner=dict(type='ClassNameLearner', num_tokens=4),
        num_classes=5, num_seen_classes=3, class_names=NAMES,
        logit_scale=20.0,
        pair_loss=dict(type='PairDistinctLoss', loss_weight=0.2),
        data_preprocessor=dict(type='TextImageDataPreprocessor',
                               mean=CLIP_MEAN, std=CLIP_STD, to_rgb=True))
    cfg.update(kwargs)
    return MODELS.build(cfg)


@pytest.fixture(scope='module')
def model():
    return build_model()


def _images(num, size=32, seed=0):
    g = torch.Generator().manual_seed(seed)
    return [torch.randint(0, 256, (3, size, size), generator=g,
                          dtype=torch.uint8) for _ in range(num)]


def test_learner_places_vectors_in_prompt(model):
    learner, enc = model.name_learner, model.text_encoder
    tokens, first = learner.prompt_tokens(enc)
    # <sot> a photo of a X X X X . <eot>
    assert first == 5
    embeds, toks = learner.prompt_embeddings(enc)
    assert embeds.shape == (5, tokens.shape[1], learner.width)
    torch.testing.assert_close(embeds[:, first:first + 4], learner.name_vectors)
    template = enc.token_embedding(tokens)[0]
    torch.testing.assert_close(embeds[2, :first], template[:first])
    torch.testing.assert_close(embeds[2, first + 4:], template[first + 4:])
    names = learner(enc)
    torch.testing.assert_close(names.norm(dim=-1), torch.ones(5))
    # Same as encoding the prompt embeddings directly (EOT truncation is the
    # encoder's job; here we check the learner wires it as documented).
    torch.testing.assert_close(names, enc.encode_embeddings(embeds, toks))
    std = learner.name_vectors.detach().std().item()
    assert 0.015 < std < 0.025


def test_only_names_are_trainable_and_saved(model):
    trainable = [n for n, p in model.named_parameters() if p.requires_grad]
    assert trainable == ['name_learner.name_vectors']
    assert list(model.state_dict()) == ['name_learner.name_vectors']
    full = build_model(save_frozen_clip=True).state_dict()
    assert any(k.startswith('backbone.') for k in full)


def test_loss_values_and_training_reduces_alignment():
    model = build_model()
    texts = ['a cat, which is a pet.', 'a dog, which barks.',
             'a boat, which floats on water.', 'a photo of a car.']
    labels = [0, 1, 4, 2]
    data = dict(inputs=texts,
                data_samples=[DataSample().set_gt_label(y) for y in labels])
    batch = model.data_preprocessor(data, True)
    assert batch['inputs'] == texts
    losses = model.loss(**batch)
    # independent computation from the public pieces
    with torch.no_grad():
        names = model.name_learner(model.text_encoder)
        sent = model.text_encoder.encode(texts)
    ref_align = ((names[labels] - sent) ** 2).sum()
    sim = names @ names.t()
    ref_pair = 0.2 * ((1 + sim).sum() - (1 + sim).diagonal().sum())
    torch.testing.assert_close(losses['loss_align'].detach(), ref_align)
    torch.testing.assert_close(losses['loss_pair'].detach(), ref_pair)

    wrapper = OptimWrapper(torch.optim.SGD(
        [p for p in model.parameters() if p.requires_grad], lr=0.05))
    aligns = [model.train_step(data, wrapper)['loss_align'].item()
              for _ in range(8)]
    assert aligns[-1] < aligns[0]


def test_predict_matches_independent_scores(model):
    model.eval()
    data = dict(inputs=_images(2), data_samples=[DataSample(), DataSample()])
    out = model.test_step(data)
    imgs = torch.stack(data['inputs']).flip(1).float()
    imgs = (imgs - torch.tensor(CLIP_MEAN).view(1, 3, 1, 1)) / torch.tensor(
        CLIP_STD).view(1, 3, 1, 1)
    with torch.no_grad():
        g, dense = model.backbone(imgs)
        names = model.name_learner(model.text_encoder)
    g, dense = F.normalize(g, dim=-1), F.normalize(dense, dim=-1)
    glob = g @ names.t()
    local = (dense @ names.t()).transpose(1, 2)  # [B, C, P]
    logits = 20.0 * local
    ref = 0.5 * (20.0 * glob + (logits.softmax(-1) * logits).sum(-1))
    got = torch.stack([s.pred_score for s in out])
    torch.testing.assert_close(got, ref, rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(out[0].pred_score_zsl, got[0, 3:])


def test_label_sets_and_score_modes(model):
    model.eval()
    imgs = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        full = model(imgs)
        model.set_label_set('zsl')
        torch.testing.assert_close(model(imgs), full[:, 3:])
        model.set_label_set(['boat', 'cat'])
        torch.testing.assert_close(model(imgs), full[:, [4, 0]])
        model.set_label_set('gzsl')
    with pytest.raises(ValueError, match='unknown'):
        model.set_label_set(['zebra'])
    with pytest.raises(ValueError):
        model.set_label_set('all')
    glob_only = build_model(score_mode='global')
    glob_only.eval()
    with torch.no_grad():
        local, glob = glob_only.view_cosines(imgs)
        torch.testing.assert_close(glob_only(imgs), 20.0 * glob)


def test_bad_config():
    with pytest.raises(ValueError, match='num_seen_classes'):
        build_model(num_seen_classes=9)
    with pytest.raises(ValueError, match='score_mode'):
        build_model(score_mode='max')
    with pytest.raises(TypeError, match='sentences'):
        build_model().loss(torch.zeros(1, 3, 32, 32), [DataSample()])


class _CountingBackbone(torch.nn.Module):
    def __init__(self, inner):
        super().__init__()
        self.inner, self.calls, self.batch_sizes = inner, 0, []

    def forward(self, x):
        self.calls += 1
        self.batch_sizes.append(x.shape[0])
        return self.inner(x)


def test_snippet_tta_one_batched_forward(model):
    model.eval()
    tta = MODELS.build(dict(type='SnippetTTAModel', module=model, grids=(2, 3),
                            views_per_call=None))
    counter = _CountingBackbone(model.backbone)
    real_backbone = model.backbone
    data = dict(inputs=_images(2, seed=3), data_samples=[DataSample(),
                                                         DataSample()])
    try:
        model.backbone = counter
        out = tta.test_step(data)
    finally:
        model.backbone = real_backbone
    assert counter.calls == 1 and counter.batch_sizes == [2 * (1 + 4 + 9)]
    got = torch.stack([s.pred_score for s in out])

    # reference: every view encoded separately, then aggregated
    imgs = model.data_preprocessor(dict(inputs=_images(2, seed=3)),
                                   False)['inputs']
    crops = cut_snippets(imgs, (2, 3))
    with torch.no_grad():
        fl, fg = model.view_cosines(imgs)
        views = [model.view_cosines(crops[:, k]) for k in range(13)]
    cl = torch.stack([v[0] for v in views], 1)
    cg = torch.stack([v[1] for v in views], 1)
    ref = aggregate_snippets(fl, fg, cl, cg, (2, 3), 20.0)
    torch.testing.assert_close(got, ref, rtol=1e-4, atol=1e-4)
    # snippets change the scores vs the plain full-image score
    assert not torch.allclose(got, image_scores(fl, fg, 20.0))
    with pytest.raises(TypeError, match='plain test pipeline'):
        tta.test_step([data])


def test_select_on_test_marks_predictions():
    model = build_model(select_on_test=True)
    model.eval()
    out = model.test_step(dict(inputs=_images(1), data_samples=[DataSample()]))
    assert out[0].model_selection == '[selected on test set]'


def test_converted_reference_checkpoint_loads(tmp_path):
    import importlib.util
    tool = osp.join(osp.dirname(__file__), '..', '..', 'tools',
                    'model_converters', 'granzsl_to_ours.py')
    spec = importlib.util.spec_from_file_location('granzsl_to_ours', tool)
    conv = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(conv)
    model = build_model()
    ctx = torch.randn_like(model.name_learner.name_vectors)
    ours = conv.reference_to_ours(dict(state_dict=dict(ctx=ctx)))
    model.load_state_dict(ours['state_dict'], strict=False)
    torch.testing.assert_close(model.name_learner.name_vectors.detach(), ctx)
