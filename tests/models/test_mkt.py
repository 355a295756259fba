"""MKT stage 1 / stage 2 on the tiny random CLIP, and the MKT converter."""
import importlib.util
import os.path as osp

import pytest
import torch
import torch.nn.functional as F
from mmpretrain.structures import DataSample

from granzsl_mm import register_all_modules
from granzsl_mm.models.losses import ranking_loss
from granzsl_mm.registry import MODELS
from tests.fixtures.tiny_override import TINY_ARCH, tiny_model_cfg

NAMES = ['red circle', 'blue square', 'traffic light', 'dog', 'hot dog',
         'cat']
TOOL = osp.join(osp.dirname(__file__), '..', '..', 'tools',
                'model_converters', 'mkt_to_ours.py')


def _backbone(**kwargs):
    cfg = dict(type='OpenCLIPBackbone', pretrained='random', arch=TINY_ARCH,
               model_cfg=tiny_model_cfg(), dense_mode='plain', frozen=True,
               trainable_blocks_from=1)
    cfg.update(kwargs)
    return cfg


def build_mkt(**kwargs):
    register_all_modules()
    torch.manual_seed(0)
    cfg = dict(type='MKT', backbone=_backbone(), num_classes=6,
               num_seen_classes=4, class_names=NAMES, topk=4,
               distill_loss=dict(type='L1DistillLoss'))
    cfg.update(kwargs)
    return MODELS.build(cfg)


def _samples(rows):
    return [DataSample().set_gt_score(torch.tensor(r, dtype=torch.float))
            for r in rows]


def _reference_scores(model, images, labels):
    """Independent recomputation through open_clip's own modules."""
    visual = model.backbone.clip.visual
    x = visual.conv1(images).flatten(2).transpose(1, 2)
    x = torch.cat([visual.class_embedding.expand(x.shape[0], 1, -1), x], 1)
    x = visual.ln_pre(x + visual.positional_embedding)
    x = visual.transformer(x)
    tokens = visual.ln_post(x) @ visual.proj
    local = torch.einsum('bpd,cd->bpc', tokens[:, 1:], labels)
    local = local.sort(dim=1, descending=True).values[:, :4].mean(1)
    glob = tokens[:, 0] @ labels.t()
    return (local / local.norm(dim=1, keepdim=True)
            + glob / glob.norm(dim=1, keepdim=True)) / 2


def test_predict_gzsl_and_zsl_scores():
    model = build_mkt().eval()
    images = torch.randn(3, 3, 32, 32)
    out = model.predict(images)
    text = model.text_encoder.encode(
        [f'There is a {n} in the scene' for n in NAMES])
    with torch.no_grad():
        gzsl = _reference_scores(model, images, text)
        zsl = _reference_scores(model, images, text[4:])
    assert out[0].pred_score.shape == (6, ) and out[0].pred_score_zsl.shape \
        == (2, )
    torch.testing.assert_close(torch.stack([s.pred_score for s in out]),
                               gzsl, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(torch.stack([s.pred_score_zsl for s in out]),
                               zsl, rtol=1e-4, atol=1e-5)
    zsl_only = build_mkt(label_set='zsl').eval().predict(images)
    assert zsl_only[0].pred_score.shape == (2, )
    assert 'pred_score_zsl' not in zsl_only[0]


def test_loss_values_trainable_parts_and_teacher():
    model = build_mkt().train()
    images = torch.randn(2, 3, 32, 32)
    rows = [[1, 0, -1, 0, 1, 0], [0, 1, 0, 0, 0, 1]]
    with torch.no_grad():
        frozen_cls = model.backbone(images)[0]
    losses = model.loss(images, _samples(rows))
    cls, patches, teacher = model.extract_feat(images, with_teacher=True)
    scores = model.head_scores(cls, patches, model.label_embeddings()[:4])
    targets = torch.tensor(rows, dtype=torch.float)[:, :4]
    torch.testing.assert_close(losses['loss_rank'],
                               ranking_loss(scores, targets))
    torch.testing.assert_close(losses['loss_distill'],
                               F.l1_loss(cls, teacher))
    sum(losses.values()).backward()
    grads = {n for n, p in model.named_parameters() if p.grad is not None}
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert grads == trainable
    assert all(n.startswith(('backbone.clip.visual.transformer.resblocks.1.',
                             'backbone.clip.visual.ln_post.',
                             'backbone.clip.visual.proj')) for n in grads)
    # the teacher is the frozen CLIP: unchanged by an update of the student
    with torch.no_grad():
        model.backbone.clip.visual.proj.add_(1.0)
        _, _, teacher_after = model.extract_feat(images, with_teacher=True)
    torch.testing.assert_close(teacher_after, frozen_cls)


def test_targets_width_is_checked():
    model = build_mkt().train()
    with pytest.raises(ValueError, match='seen classes'):
        model.loss(torch.randn(1, 3, 32, 32), _samples([[1, 0, 0]]))
    # seen-only targets are accepted as well
    model.loss(torch.randn(1, 3, 32, 32), _samples([[1, 0, 0, 0]]))


def test_layer_decay_groups():
    from mmpretrain.engine.optimizers import LearningRateDecayOptimWrapperConstructor
    model = build_mkt()
    ctor = LearningRateDecayOptimWrapperConstructor(
        dict(type='OptimWrapper', optimizer=dict(type='AdamW', lr=1.0,
                                                 weight_decay=0.05)),
        dict(layer_decay_rate=0.65, flat_decay_mult=0.0))
    groups = {g['param_name']: g
              for g in ctor(model).optimizer.param_groups}
    visual = 'backbone.clip.visual.'
    assert groups[visual + 'transformer.resblocks.1.attn.in_proj_weight'][
        'lr'] == pytest.approx(0.65)
    assert groups[visual + 'proj']['lr'] == pytest.approx(1.0)
    assert groups[visual + 'proj']['weight_decay'] == 0.05
    assert groups[visual + 'ln_post.weight']['weight_decay'] == 0.0
    assert not any('resblocks.0.' in n or 'teacher' in n for n in groups)


def test_checkpoint_drops_frozen_parts_and_reloads():
    model = build_mkt().eval()
    state = model.state_dict()
    assert not any(k.startswith('teacher.') for k in state)
    assert not any(k.startswith('backbone.clip.') and not k.startswith(
        'backbone.clip.visual.') for k in state)
    with torch.no_grad():
        for p in model.backbone.clip.visual.transformer.resblocks[1]\
                .parameters():
            p.add_(0.1)
    state = model.state_dict()
    fresh = build_mkt().eval()
    missing, unexpected = fresh.load_state_dict(state, strict=False)
    assert not unexpected
    images = torch.randn(2, 3, 32, 32)
    torch.testing.assert_close(fresh.predict(images)[0].pred_score,
                               model.predict(images)[0].pred_score)


def test_bad_config():
    with pytest.raises(ValueError, match='class names'):
        build_mkt(class_names=NAMES[:3])
    with pytest.raises(ValueError, match='label_set'):
        build_mkt(label_set='all')
    with pytest.raises(ValueError, match='topk'):
        build_mkt(topk=100).predict(torch.randn(1, 3, 32, 32))


def test_class_names_from_files(tmp_path):
    from granzsl_mm.structures import read_class_names
    seen = tmp_path / 'tags.txt'
    seen.write_text('sky\r\ndog\r\ncat\r\n')
    unseen = tmp_path / 'concepts.txt'
    unseen.write_text('dog\nzebra\n')
    assert read_class_names(dict(seen=str(seen), unseen=str(unseen))).names == \
        ['sky', 'cat', 'dog', 'zebra']
    with pytest.raises(FileNotFoundError):
        read_class_names(str(tmp_path / 'missing.txt'))


# ------------------------------------------------------------ stage 2
def build_stage2():
    register_all_modules()
    torch.manual_seed(0)
    return MODELS.build(dict(
        type='MKTPromptTuning', backbone=_backbone(trainable_blocks_from=None),
        num_classes=6, num_seen_classes=4, class_names=NAMES, topk=4))


def test_stage2_prompt_learning():
    model = build_stage2()
    learner = model.prompt_learner
    # SOT, there, is, a, in, the, scene, EOT
    assert learner.num_context_tokens == 8
    with torch.no_grad():
        untrained = learner(model.text_encoder)
    frozen = model.text_encoder.encode(
        [f'There is a {n} in the scene' for n in NAMES])
    torch.testing.assert_close(untrained, frozen, rtol=1e-5, atol=1e-6)
    model.train()
    losses = model.loss(torch.randn(2, 3, 32, 32),
                        _samples([[1, 0, 0, 0, 1, 0], [0, 0, 1, 0, 0, 0]]))
    assert set(losses) == {'loss_rank'}
    losses['loss_rank'].backward()
    grads = [n for n, p in model.named_parameters() if p.grad is not None]
    assert grads == ['prompt_learner.context']
    out = model.eval().predict(torch.randn(2, 3, 32, 32))
    assert out[0].pred_score.shape == (6, )
    with pytest.raises(ValueError, match='frozen'):
        MODELS.build(dict(type='MKTPromptTuning', backbone=_backbone(),
                          num_classes=6, num_seen_classes=4,
                          class_names=NAMES))


# ------------------------------------------------------------ converter
@pytest.fixture(scope='module')
def conv():
    spec = importlib.util.spec_from_file_location('mkt_to_ours', TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def reference_stage1_state(model, prefix='module.'):
    """A state dict with the reference CLIPVIT's key names."""
    visual = model.backbone.clip.visual
    state = {}
    for key, value in visual.state_dict().items():
        name = 'projection_dist' if key == 'proj' else key
        state[prefix + name] = value.clone()
    width = visual.conv1.weight.shape[0]
    state[prefix + 'projection.fc1.weight'] = torch.zeros(512, width)
    state[prefix + 'projection.fc1.bias'] = torch.zeros(512)
    return state


def test_stage1_and_stage2_conversion(conv, tmp_path):
    source = build_mkt()
    with torch.no_grad():
        for p in source.backbone.clip.visual.parameters():
            p.add_(0.01 * torch.randn_like(p))
    ref1 = tmp_path / 'stage1.pth'
    torch.save(reference_stage1_state(source), ref1)
    # stage 2: the whole text tower with trained token-embedding rows
    table = source.backbone.clip.token_embedding.weight.detach().clone()
    ids = conv.context_token_ids(tokenizer=source.text_encoder.tokenizer)
    table[ids] += 0.5
    ref2 = tmp_path / 'stage2.pth'
    torch.save({'module.token_embedding.weight': table,
                'module.ln_final.weight': torch.ones(64)}, ref2)
    out = tmp_path / 'ours.pth'
    conv.main([str(ref1), str(out), '--stage2', str(ref2)])
    ckpt = torch.load(out, weights_only=True)
    assert ckpt['meta']['converted_from'] == 'mkt-reference'

    stage1 = build_mkt()
    stage1_state = {k: v for k, v in ckpt['state_dict'].items()
                    if not k.startswith('prompt_learner.')}
    missing, unexpected = stage1.load_state_dict(stage1_state, strict=False)
    assert not unexpected
    assert not [k for k in missing if k.startswith('backbone.clip.visual')]
    images = torch.randn(2, 3, 32, 32)
    torch.testing.assert_close(stage1.eval().predict(images)[0].pred_score,
                               source.eval().predict(images)[0].pred_score)

    stage2 = build_stage2()
    missing, unexpected = stage2.load_state_dict(ckpt['state_dict'],
                                                 strict=False)
    assert not unexpected
    torch.testing.assert_close(stage2.prompt_learner.context, table[ids])
    torch.testing.assert_close(stage2.prompt_learner.context_ids, ids)


def test_converter_rejects_unknown_keys(conv):
    state = reference_stage1_state(build_mkt(), prefix='')
    state['GATv2_1.layer1.attn.weight'] = torch.zeros(1, 32)
    with pytest.raises(KeyError, match='sigrl_to_ours'):
        conv.convert_stage1(state)
    with pytest.raises(KeyError, match='projection_dist'):
        conv.convert_stage1({'conv1.weight': torch.zeros(1)})
