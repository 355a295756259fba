"""ZeroShotMultiLabelClassifier against independent open_clip computations."""
import pytest
import torch
import torch.nn.functional as F

from granzsl_mm import register_all_modules
from granzsl_mm.models.classifiers import ZeroShotMultiLabelClassifier
from granzsl_mm.models.tta import SnippetTTAModel
from granzsl_mm.registry import MODELS

TINY = 'TinyCLIP-test'
NAMES = ['cat', 'dog', 'car', 'tree', 'boat']  # 3 seen, 2 unseen


def build(**kwargs):
    register_all_modules()
    torch.manual_seed(0)
    cfg = dict(type='ZeroShotMultiLabelClassifier',
               backbone=dict(type='OpenCLIPBackbone', pretrained='random', arch=TINY,
                             dense_mode='clearclip'),
               class_names=NAMES, num_seen_classes=3)
    cfg.update(kwargs)
    return MODELS.build(cfg).eval()


@pytest.fixture(scope='module')
def model():
    return build(score_mode='both', logit_scale=20.0)


def _images(num=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(num, 3, 32, 32, generator=g)


def _prompt_feats(clip, tokenizer, words, template='a photo of a {}.'):
    with torch.no_grad():
        return F.normalize(clip.encode_text(
            tokenizer([template.format(w) for w in words])), dim=-1)


def _cosines(model, x, words):
    """Independent: open_clip's encode_image / encode_text and the
    backbone's dense tokens (checked against open_clip in the backbone
    tests)."""
    clip, tok = model.backbone.clip, model.backbone.tokenizer
    text = _prompt_feats(clip, tok, words)
    with torch.no_grad():
        glob = F.normalize(clip.encode_image(x), dim=-1) @ text.T
        _, dense = model.backbone(x)
    local = F.normalize(dense, dim=-1) @ text.T  # [B, P, C]
    return glob, local


def test_global_scores_equal_clip_zero_shot():
    model = build()  # logit_scale='clip', score_mode='global'
    x = _images()
    glob, _ = _cosines(model, x, NAMES)
    scale = model.backbone.clip.logit_scale.exp().item()
    assert model.logit_scale == pytest.approx(scale)
    out = model(x, mode='tensor')
    assert torch.allclose(out, scale * glob, atol=1e-4)
    sig = build(score_act='sigmoid')(x, mode='tensor')
    assert torch.allclose(sig, torch.sigmoid(scale * glob), atol=1e-5)
    assert not torch.allclose(sig.sum(-1), torch.ones(3))  # no softmax


def test_local_softmax_and_topk_pooling(model):
    x = _images()
    glob, local = _cosines(model, x, NAMES)
    s = 20.0
    logits = s * local
    soft = (torch.softmax(logits, dim=1) * logits).sum(dim=1)
    assert torch.allclose(model(x, mode='tensor'), 0.5 * (s * glob + soft),
                          atol=1e-4)
    topk = build(score_mode='local', local_pooling='topk', topk_patches=3,
                 logit_scale=s)
    ref = s * local.sort(dim=1, descending=True).values[:, :3].mean(dim=1)
    assert torch.allclose(topk(x, mode='tensor'), ref, atol=1e-4)


def test_vocabulary_switch_zsl_gzsl(model):
    x = _images()
    full = model.predict(x)
    assert model.vocabulary == NAMES
    scores = torch.stack([s.pred_score for s in full])
    zsl_field = torch.stack([s.pred_score_zsl for s in full])
    assert torch.equal(zsl_field, scores[:, 3:])
    assert full[0].vocabulary == NAMES
    assert model.set_vocabulary('unseen') == ['prompt', 'prompt']
    unseen = torch.stack([s.pred_score for s in model.predict(x)])
    assert torch.allclose(unseen, scores[:, 3:], atol=1e-5)
    model.set_vocabulary('seen')
    assert model.vocabulary == NAMES[:3]
    model.set_vocabulary(['boat', 'zebra'])
    mixed = model(x, mode='tensor')
    assert torch.allclose(mixed[:, 0], scores[:, 4], atol=1e-5)
    for bad in ('bogus', [], ['ok', ' ']):
        with pytest.raises(ValueError):
            model.set_vocabulary(bad)
    model.set_vocabulary('all')


def test_learned_embeddings_fallback_and_vocabulary_file(model, tmp_path):
    x = _images()
    torch.manual_seed(1)
    learned = F.normalize(torch.randn(2, 32), dim=-1)
    model.set_learned_embeddings(['cat', 'unicorn'], learned, 'GranZSL')
    assert model.vocabulary_sources == ['learned'] + ['prompt'] * 4
    sources = model.set_vocabulary(['unicorn', 'dog', 'cat'])
    assert sources == ['learned', 'prompt', 'learned']
    out = model(x, mode='tensor')
    glob, local = _cosines(model, x, ['dog'])
    with torch.no_grad():
        g_feat, dense = model.backbone(x)
    g_l = F.normalize(g_feat, dim=-1) @ learned.T
    l_l = F.normalize(dense, dim=-1) @ learned.T
    s = 20.0

    def score(g, loc):
        return 0.5 * (s * g + (torch.softmax(s * loc, 1) * s * loc).sum(1))

    assert torch.allclose(out[:, 0], score(g_l, l_l)[:, 1], atol=1e-4)
    assert torch.allclose(out[:, 2], score(g_l, l_l)[:, 0], atol=1e-4)
    assert torch.allclose(out[:, 1], score(glob, local)[:, 0], atol=1e-4)
    path = model.export_vocabulary(str(tmp_path / 'names.pt'),
                                   meta=dict(method='test'))
    fresh = build(score_mode='both', logit_scale=20.0, vocabulary_file=path,
                  vocabulary=['unicorn', 'dog', 'cat'])
    assert fresh.learned_names == ['cat', 'unicorn']
    assert fresh.vocabulary_sources == ['learned', 'prompt', 'learned']
    assert torch.allclose(fresh(x, mode='tensor'), out, atol=1e-5)
    with pytest.raises(ValueError, match='dimension'):
        model.set_learned_embeddings(['x'], torch.randn(1, 7))
    model.vocab.learned.clear()
    model.set_vocabulary('all')


def test_vocabulary_file_validation(tmp_path):
    from granzsl_mm.models.text import load_vocabulary_file, save_vocabulary_file
    with pytest.raises(ValueError, match='duplicate'):
        save_vocabulary_file(str(tmp_path / 'a.pt'), ['a', 'a'],
                             torch.randn(2, 4))
    with pytest.raises(ValueError, match='2 names'):
        save_vocabulary_file(str(tmp_path / 'a.pt'), ['a', 'b'],
                             torch.randn(3, 4))
    torch.save({'names': ['a']}, tmp_path / 'bad.pt')
    with pytest.raises(ValueError, match='vocabulary'):
        load_vocabulary_file(str(tmp_path / 'bad.pt'))
    with pytest.raises(FileNotFoundError):
        load_vocabulary_file(str(tmp_path / 'none.pt'))
    path = save_vocabulary_file(str(tmp_path / 'v.pt'), ['a', 'b'],
                                torch.tensor([[3., 4.], [1., 0.]]))
    data = load_vocabulary_file(path)
    assert data['names'] == ['a', 'b'] and data['sources'] == ['learned'] * 2
    assert torch.allclose(data['embeddings'][0], torch.tensor([.6, .8]))


def test_snippet_scores_match_snippet_tta_model(model):
    from mmpretrain.structures import DataSample
    imgs = [torch.randint(0, 256, (3, 64, 64), dtype=torch.uint8)
            for _ in range(2)]
    tta = SnippetTTAModel(module=model, grids=(2, ))
    batch = dict(inputs=imgs, data_samples=[DataSample() for _ in imgs])
    ref = torch.stack([s.pred_score for s in tta.test_step(batch)])
    inputs = model.data_preprocessor(dict(inputs=imgs), False)['inputs']
    with torch.no_grad():
        ours = model.snippet_scores(inputs, (2, ))
        plain = model(inputs, mode='tensor')
    assert torch.allclose(ours, ref, atol=1e-5)
    assert not torch.allclose(ours, plain, atol=1e-3)


def test_mmpretrain_backbone_inside_our_classifier():
    register_all_modules()
    model = MODELS.build(dict(
        type='ZeroShotMultiLabelClassifier',
        backbone=dict(type='mmpretrain.VisionTransformer',
                      arch=dict(embed_dims=48, num_layers=1, num_heads=2,
                                feedforward_channels=64),
                      img_size=32, patch_size=8, out_type='cls_token'),
        neck=dict(type='mmpretrain.LinearNeck', in_channels=48,
                  out_channels=32),
        text_encoder=dict(type='CLIPTextEncoder', pretrained='random', arch=TINY),
        class_names=NAMES, logit_scale=10.0)).eval()
    x = _images(2)
    with torch.no_grad():
        feat = model.neck(model.backbone(x))[-1]
    text = model.text_encoder.encode_with_templates(NAMES)
    ref = 10.0 * F.normalize(feat, dim=-1) @ text.T
    samples = model.predict(x)
    assert torch.allclose(torch.stack([s.pred_score for s in samples]), ref,
                          atol=1e-5)
    with pytest.raises(ValueError, match='dense'):
        build(score_mode='local', backbone=dict(
            type='OpenCLIPBackbone', pretrained='random', arch=TINY))(x, mode='tensor')


def test_bad_arguments():
    with pytest.raises(ValueError, match='score_mode'):
        build(score_mode='max')
    with pytest.raises(ValueError, match='num_seen_classes'):
        build(num_seen_classes=9)
    model = build()
    with pytest.raises(NotImplementedError, match='no trainable'):
        model(_images(1), [], mode='loss')
    assert isinstance(model, ZeroShotMultiLabelClassifier)
