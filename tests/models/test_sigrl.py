"""SigRL: GMC / decoupling / bridging / SVFR against plain loops, the
model on the tiny random CLIP, and the SigRL converter."""
import importlib.util
import os.path as osp

import pytest
import torch
import torch.nn.functional as F
from mmpretrain.structures import DataSample

from granzsl_mm import register_all_modules
from granzsl_mm.models.heads import (
    SemanticDecoupling,
    SemanticVisualReconstruction,
    SigRLHead,
    bridge_features,
)
from granzsl_mm.models.layers import GATv2
from granzsl_mm.registry import MODELS
from tests.fixtures.tiny_override import TINY_ARCH, tiny_model_cfg

NAMES = ['red circle', 'blue square', 'traffic light', 'dog', 'hot dog',
         'cat']
TOOL = osp.join(osp.dirname(__file__), '..', '..', 'tools',
                'model_converters', 'sigrl_to_ours.py')


def _decoupling_loop(fc, x, labels):
    """S[b, c] = sum_p softmax_p(fc(tanh(x[b,p] * l[c]))) * x[b,p]."""
    out = torch.zeros(x.shape[0], labels.shape[0], x.shape[2])
    for b in range(x.shape[0]):
        for c in range(labels.shape[0]):
            logits = torch.stack([fc(torch.tanh(x[b, p] * labels[c]))
                                  for p in range(x.shape[1])])
            out[b, c] = (logits.softmax(dim=0) * x[b]).sum(dim=0)
    return out


def _svfr_loop(module, x, queries):
    """R[b, p] = sum_c softmax_p(fc(tanh(x[b,p] * fc1(q[b,c])))) * x[b,p]."""
    out = torch.zeros_like(x)
    for b in range(x.shape[0]):
        for c in range(queries.shape[1]):
            q = module.fc1(queries[b, c])
            logits = torch.stack([module.fc(torch.tanh(x[b, p] * q))
                                  for p in range(x.shape[1])])
            out[b] += logits.softmax(dim=0) * x[b]
    return out


def test_decoupling_and_svfr_match_loops():
    torch.manual_seed(0)
    x, labels = torch.randn(2, 5, 4), torch.randn(3, 4)
    dec = SemanticDecoupling(4)
    with torch.no_grad():
        torch.testing.assert_close(dec(x, labels),
                                   _decoupling_loop(dec.fc, x, labels))
        svfr = SemanticVisualReconstruction(4, 8)
        queries = torch.randn(2, 3, 8)
        torch.testing.assert_close(svfr(x, queries),
                                   _svfr_loop(svfr, x, queries))
    assert svfr.fc1.bias is None and svfr.fc1.weight.shape == (4, 8)


def test_bridge_features():
    torch.manual_seed(1)
    sem, labels = torch.randn(2, 3, 4), torch.randn(3, 4)
    out = bridge_features(sem, labels)
    for b in range(2):
        mixing = torch.clamp(sem[b].t() @ labels, min=0)
        mixing = mixing / mixing.norm(dim=1, keepdim=True).clamp(min=1e-12)
        torch.testing.assert_close(out[b], sem[b] @ mixing)
    # the reference's division by a positive scalar cancels
    scaled = F.normalize(F.relu(sem.transpose(1, 2) @ labels / 7.5), dim=-1)
    torch.testing.assert_close(sem @ scaled, out)


def test_head_scores_and_chunking():
    torch.manual_seed(2)
    head = SigRLHead(dim=8, gmc=dict(type='GATv2', hidden_features=8,
                                     num_heads=4, dropout=0.0), topk=3)
    chunked = SigRLHead(dim=8, gmc=dict(type='GATv2', hidden_features=8,
                                        num_heads=4, dropout=0.0,
                                        chunk_size=2), topk=3, chunk_size=2)
    chunked.load_state_dict(head.state_dict())
    x, labels = torch.randn(2, 6, 8), torch.randn(5, 8)
    with torch.no_grad():
        graph = head.gmc(labels)
        queries = torch.cat([bridge_features(head.decoupling(x, labels),
                                             labels),
                             graph.expand(2, -1, -1)], dim=-1)
        recon = head.svfr(x, queries)
        expected = (recon @ labels.t()).topk(3, dim=1).values.mean(1)
        torch.testing.assert_close(head.eval()(x, labels), expected)
    outs = []
    for h in (head.train(), chunked.train()):
        out = h(x, labels)
        out.square().sum().backward()
        outs.append(out)
    torch.testing.assert_close(outs[0], outs[1])
    for (name, p), q in zip(head.named_parameters(), chunked.parameters()):
        torch.testing.assert_close(p.grad, q.grad, msg=name)
    with pytest.raises(ValueError, match='topk'):
        SigRLHead(dim=8, topk=7)(x, labels)


def build_sigrl(**kwargs):
    register_all_modules()
    torch.manual_seed(0)
    cfg = dict(
        type='SigRL',
        backbone=dict(type='OpenCLIPBackbone', pretrained='random', arch=TINY_ARCH,
                      model_cfg=tiny_model_cfg(), dense_mode='plain',
                      frozen=True, trainable_blocks_from=1),
        num_classes=6, num_seen_classes=4, class_names=NAMES, topk=4,
        head=dict(gmc=dict(type='GATv2', hidden_features=16, num_heads=4),
                  chunk_size=3),
        distill_loss=dict(type='L1DistillLoss'))
    cfg.update(kwargs)
    return MODELS.build(cfg)


def test_model_contains_gmc_svfr_and_gradients_reach_gatv2():
    model = build_sigrl().train()
    assert isinstance(model.gmc, GATv2)
    assert isinstance(model.svfr, SemanticVisualReconstruction)
    assert model.local_head.topk == 4
    assert model.gmc.layer1.linear_l.weight.shape == (16, 32)
    samples = [DataSample().set_gt_score(torch.tensor(r, dtype=torch.float))
               for r in ([1, 0, 0, -1, 0, 1], [0, 1, 1, 0, 1, 0])]
    losses = model.loss(torch.randn(2, 3, 32, 32), samples)
    assert set(losses) == {'loss_rank', 'loss_distill'}
    sum(losses.values()).backward()
    for name, param in model.named_parameters():
        if name.startswith('local_head.'):
            assert param.grad is not None and param.grad.abs().sum() > 0, name
    # head parameters get the top layer of the lr decay (scale 1)
    depth, top = model.get_layer_depth('local_head.gmc.layer1.attn.weight')
    assert depth == top - 1


def test_predict_scores_each_label_set_with_its_own_graph():
    model = build_sigrl().eval()
    images = torch.randn(2, 3, 32, 32)
    out = model.predict(images)
    with torch.no_grad():
        cls, patches, _ = model.extract_feat(images)
        labels = model.label_embeddings()
        unseen = labels[4:]
        local = model.local_head(patches, unseen)
        expected = (F.normalize(local, dim=-1)
                    + F.normalize(cls @ unseen.t(), dim=-1)) / 2
    torch.testing.assert_close(torch.stack([s.pred_score_zsl for s in out]),
                               expected)
    assert out[0].pred_score.shape == (6, )
    with pytest.raises(ValueError, match='head'):
        build_sigrl(local_head=dict(type='SigRLHead'))


@pytest.fixture(scope='module')
def conv():
    spec = importlib.util.spec_from_file_location('sigrl_to_ours', TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _reference_state(model):
    """The reference CLIPVIT's keys (DataParallel prefix) for our model."""
    state = {}
    for key, value in model.backbone.clip.visual.state_dict().items():
        state['module.' + ('projection_dist' if key == 'proj' else key)] = \
            value.clone()
    head = model.local_head
    names = {'gmc.layer1.': 'GATv2_1.layer1.', 'gmc.layer2.':
             'GATv2_1.output.', 'decoupling.fc.': 'SemanticDecoupling.fc3.',
             'svfr.fc1.': 'DecouplingSemantic.fc1.',
             'svfr.fc.': 'DecouplingSemantic.fc3.'}
    for key, value in head.state_dict().items():
        src = next(p for p in names if key.startswith(p))
        ref = names[src] + key[len(src):]
        state['module.' + ref] = value.clone()
        if 'linear_l' in ref:  # share_weights: the reference saves both
            state['module.' + ref.replace('linear_l', 'linear_r')] = \
                value.clone()
    return state


def test_sigrl_conversion(conv, tmp_path):
    source = build_sigrl()
    with torch.no_grad():
        for p in source.local_head.parameters():
            p.add_(0.1 * torch.randn_like(p))
    ref = tmp_path / 'sigrl.pth'
    torch.save(_reference_state(source), ref)
    out = tmp_path / 'ours.pth'
    conv.main([str(ref), str(out)])
    ckpt = torch.load(out, weights_only=True)
    assert ckpt['meta']['converted_from'] == 'sigrl-reference'
    target = build_sigrl()
    missing, unexpected = target.load_state_dict(ckpt['state_dict'],
                                                 strict=False)
    assert not unexpected
    assert not [k for k in missing if k.startswith(('local_head.',
                                                    'backbone.clip.visual.'))]
    images = torch.randn(2, 3, 32, 32)
    torch.testing.assert_close(target.eval().predict(images)[0].pred_score,
                               source.eval().predict(images)[0].pred_score)
    bad = _reference_state(source)
    bad['module.GATv2_1.layer1.linear_r.weight'] += 1.0
    with pytest.raises(ValueError, match='shared'):
        conv.mkt_to_ours.convert_stage1(
            conv.mkt_to_ours.reference_state_dict(bad), sigrl=True)


# ---------------------------------------------------------------- SPML mode
def build_sigrl_spml(**kwargs):
    """SigRL in SPML mode: all 6 classes seen, the whole image tower
    trainable, GATv2 without dropout (deterministic)."""
    cfg = dict(
        backbone=dict(type='OpenCLIPBackbone', pretrained='random', arch=TINY_ARCH,
                      model_cfg=tiny_model_cfg(), dense_mode='plain',
                      frozen=False),
        num_classes=6, num_seen_classes=6, distill_loss=None,
        head=dict(gmc=dict(type='GATv2', hidden_features=16, num_heads=4,
                           dropout=0.0), chunk_size=3),
        spml_loss=dict(type='SPMLLoss', mode='em_pl', alpha=0.1, beta=0.7),
        score_scale=10.0)
    cfg.update(kwargs)
    return build_sigrl(**cfg)


def _capture_scores(model):
    """Keep the (grad-retaining) scores of the model's next head_scores."""
    captured = []
    original = model.head_scores

    def head_scores(*args):
        scores = original(*args)
        scores.retain_grad()
        captured.append(scores)
        return scores

    model.head_scores = head_scores
    return captured


SPML_TARGETS = torch.tensor([[1., -1, -1, 0, -1, -1],
                             [-1, -1, 1, -1, -1, -1]])
SOFT = torch.tensor([[float('nan'), 0.9, float('nan'), float('nan'),
                      float('nan'), float('nan')],
                     [0.9] + [float('nan')] * 5])


def _spml_samples(soft=True):
    samples = []
    for i in range(2):
        sample = DataSample().set_gt_score(SPML_TARGETS[i])
        if soft:  # as PackInputs(algorithm_keys=('soft_targets',)) packs it
            sample.set_field(SOFT[i].numpy(), 'soft_targets')
        samples.append(sample)
    return samples


def test_spml_mode_loss_is_spml_loss_of_scaled_scores():
    from granzsl_mm.models.losses import spml_loss
    model = build_sigrl_spml().train()
    captured = _capture_scores(model)
    images = torch.randn(2, 3, 32, 32)
    losses = model.loss(images, _spml_samples())
    assert set(losses) == {'loss_spml'}  # no ranking / distillation
    scores = captured[0]
    assert scores.shape == (2, 6)  # every class scored in training
    probs = (10.0 * scores.detach()).sigmoid()
    expected = spml_loss(probs, SPML_TARGETS, 'em_pl', alpha=0.1, beta=0.7,
                         soft_targets=SOFT)
    torch.testing.assert_close(losses['loss_spml'], expected)
    # without soft targets: the entropy term on every unknown instead
    plain = model.loss(images, _spml_samples(soft=False))['loss_spml']
    torch.testing.assert_close(plain, spml_loss(probs, SPML_TARGETS,
                                                'em_pl', alpha=0.1,
                                                beta=0.7))
    assert not torch.isclose(plain, expected)
    # the gradient reaching the scores is that of spml_loss
    losses['loss_spml'].backward()
    ref_scores = scores.detach().clone().requires_grad_(True)
    spml_loss((10.0 * ref_scores).sigmoid(), SPML_TARGETS, 'em_pl',
              alpha=0.1, beta=0.7, soft_targets=SOFT).backward()
    torch.testing.assert_close(scores.grad, ref_scores.grad)
    # gradients reach GATv2 and the whole image tower, never the text tower
    for name, param in model.gmc.named_parameters():
        assert param.grad is not None and param.grad.abs().sum() > 0, name
    visual = model.backbone.clip.visual
    assert visual.conv1.weight.grad.abs().sum() > 0
    text = [p for n, p in model.backbone.clip.named_parameters()
            if not n.startswith('visual.')]
    assert text and not any(p.requires_grad for p in text)
    # a fixed scale is a buffer, not a parameter
    assert 'log_score_scale' not in dict(model.named_parameters())
    assert float(model.score_scale) == pytest.approx(10.0)


def test_spml_mode_unknown_label_gets_zero_gradient():
    """With a loss that ignores unknowns (MaskedBCELoss), an unknown entry's
    score gets exactly zero gradient; known entries do not."""
    model = build_sigrl_spml(
        spml_loss=dict(type='MaskedBCELoss', reduction='mean_all'),
        learnable_score_scale=True).train()
    captured = _capture_scores(model)
    loss = model.loss(torch.randn(2, 3, 32, 32),
                      _spml_samples(soft=False))['loss_spml']
    loss.backward()
    grad = captured[0].grad
    unknown = SPML_TARGETS == -1
    assert torch.equal(grad[unknown], torch.zeros_like(grad[unknown]))
    assert (grad[~unknown] != 0).all()
    # the learnable scale is a parameter and is trained
    assert model.log_score_scale.requires_grad
    assert model.log_score_scale.grad is not None
    for name, param in model.gmc.named_parameters():
        assert param.grad is not None and param.grad.abs().sum() > 0, name


def test_spml_mode_predicts_probabilities_over_all_classes():
    model = build_sigrl_spml().eval()
    images = torch.randn(2, 3, 32, 32)
    out = model.predict(images)
    with torch.no_grad():
        cls, patches, _ = model.extract_feat(images)
        labels = model.label_embeddings()
        local = model.local_head(patches, labels)
        score = (F.normalize(local, dim=-1)
                 + F.normalize(cls @ labels.t(), dim=-1)) / 2
    torch.testing.assert_close(torch.stack([s.pred_score for s in out]),
                               (10.0 * score).sigmoid())
    assert 'pred_score_zsl' not in out[0]  # no unseen classes
    # the zero-shot model without unseen classes predicts too (no ZSL set)
    plain = build_sigrl(num_seen_classes=6).eval().predict(images)
    assert plain[0].pred_score.shape == (6, )
    assert 'pred_score_zsl' not in plain[0]


def test_spml_mode_arguments_checked():
    with pytest.raises(ValueError, match='unseen'):
        build_sigrl_spml(label_set='zsl')
    with pytest.raises(ValueError, match='score_scale'):
        build_sigrl_spml(score_scale=0.0)
    with pytest.raises(ValueError, match='use_sigmoid'):
        build_sigrl_spml(spml_loss=dict(type='SPMLLoss', use_sigmoid=False))
    with pytest.raises(ValueError, match='teacher'):
        build_sigrl_spml(distill_loss=dict(type='L1DistillLoss'))
    with pytest.raises(ValueError, match='at least one node'):
        GATv2(8, 8, 8, num_heads=2)(torch.zeros(0, 8))
    head = SigRLHead(dim=8, gmc=dict(type='GATv2', hidden_features=8,
                                     num_heads=4), topk=2)
    with pytest.raises(ValueError, match='non-empty'):
        head(torch.randn(1, 4, 8), torch.zeros(0, 8))
