"""CLIPTextEncoder against open_clip's encode_text, truncation, cache."""
import torch
import torch.nn.functional as F

from granzsl_mm.models.text import CLIPTextEncoder
from granzsl_mm.structures.prompts import OPENAI_IMAGENET_TEMPLATES

TINY = 'TinyCLIP-test'
TEXTS = ['a cat', 'a photo of a big brown dog sitting on a red sofa.',
         'person']


def _ref(enc, texts):
    with torch.no_grad():
        return F.normalize(enc.clip.encode_text(enc.tokenizer(texts)), dim=-1)


def test_equals_encode_text_with_and_without_truncation():
    enc = CLIPTextEncoder(TINY, pretrained='random')
    assert enc.is_causal_eot
    ref = _ref(enc, TEXTS)
    assert (enc.encode(TEXTS) - ref).abs().max() < 1e-5
    full = CLIPTextEncoder.from_clip(enc.clip, enc.tokenizer, truncate=False)
    assert (full.encode(TEXTS) - ref).abs().max() < 1e-5


def test_truncation_really_cuts(monkeypatch):
    enc = CLIPTextEncoder(TINY, pretrained='random')
    lengths = []
    orig = enc.tower.transformer.forward

    def spy(x, attn_mask=None):
        lengths.append(x.shape[1])
        return orig(x, attn_mask=attn_mask)

    monkeypatch.setattr(enc.tower.transformer, 'forward', spy)
    enc.encode(['a cat'])
    assert lengths == [4]  # SOT, a, cat, EOT


def test_encode_embeddings_with_learned_slot():
    enc = CLIPTextEncoder(TINY, pretrained='random')
    tokens = enc.tokenize(['a photo of a X.', 'a photo of a dog.'])
    embeds = enc.token_embedding(tokens)
    assert embeds.shape == (2, 77, 64)
    out = enc.encode_embeddings(embeds, tokens)
    assert (out - _ref(enc, ['a photo of a X.', 'a photo of a dog.'])
            ).abs().max() < 1e-5
    slot = torch.zeros(64, requires_grad=True)
    embeds = embeds.clone()
    embeds[0, 5] = slot
    enc.encode_embeddings(embeds, tokens).sum().backward()
    assert slot.grad is not None and slot.grad.abs().sum() > 0


def test_non_causal_tower_is_not_truncated():
    enc = CLIPTextEncoder(TINY, pretrained='random')
    enc.clip.attn_mask = None  # bidirectional: cutting would change output
    assert not enc.is_causal_eot
    tokens = enc.tokenize(TEXTS)
    with torch.no_grad():
        out = enc.encode_embeddings(enc.token_embedding(tokens), tokens)
        ref = F.normalize(enc.clip.encode_text(tokens), dim=-1)
    assert (out - ref).abs().max() < 1e-5


def test_memory_cache_counts_calls():
    enc = CLIPTextEncoder(TINY, pretrained='random')
    enc.encode(TEXTS)
    assert enc.num_encoded == 3
    enc.encode(TEXTS[:2] + ['new one', 'new one'])
    assert enc.num_encoded == 4
    with torch.no_grad():  # in-place weight change invalidates the cache
        enc.clip.token_embedding.weight.add_(0.1)
    out = enc.encode(TEXTS)
    assert enc.num_encoded == 7
    assert (out - _ref(enc, TEXTS)).abs().max() < 1e-5


def test_disk_cache_shared_across_instances(tmp_path):
    enc = CLIPTextEncoder(TINY, pretrained='random', cache_dir=str(tmp_path))
    first = enc.encode(TEXTS)
    other = CLIPTextEncoder.from_clip(enc.clip, enc.tokenizer,
                                      cache_dir=str(tmp_path))
    again = other.encode(TEXTS)
    assert other.num_encoded == 0
    assert torch.equal(first, again)
    assert len(list(tmp_path.glob('text_features_*.pt'))) == 1


def test_trainable_tower_not_cached():
    enc = CLIPTextEncoder(TINY, pretrained='random', frozen=False)
    enc.encode(TEXTS)
    enc.encode(TEXTS)
    assert enc.num_encoded == 6


def test_templates():
    assert len(OPENAI_IMAGENET_TEMPLATES) == 80
    enc = CLIPTextEncoder(TINY, pretrained='random')
    out = enc.encode_with_templates(['cat', 'dog'],
                                    ['a photo of a {}.', 'a {}.'])
    parts = enc.encode(['a photo of a cat.', 'a cat.'])
    assert (out[0] - F.normalize(parts.mean(0), dim=-1)).abs().max() < 1e-6
    assert enc.encode_with_templates(['cat'], 'openai_imagenet_80').shape == (1, 32)


def _tiny_cfg(**text_cfg):
    import json

    from tests.fixtures.tiny_override import TINY_MODEL_CFG_PATH
    with open(TINY_MODEL_CFG_PATH) as f:
        cfg = json.load(f)
    cfg['custom_text'] = True  # open_clip CustomTextCLIP (model.text tower)
    cfg['text_cfg'].update(text_cfg)
    return cfg


def _spy_lengths(monkeypatch, enc):
    lengths = []
    orig = enc.tower.transformer.forward

    def spy(x, attn_mask=None):
        lengths.append(x.shape[1])
        return orig(x, attn_mask=attn_mask)

    monkeypatch.setattr(enc.tower.transformer, 'forward', spy)
    return lengths


def test_siglip_style_tower_is_never_truncated(monkeypatch):
    # last-token pooling, bidirectional attention: cutting would change it
    torch.manual_seed(0)
    enc = CLIPTextEncoder('lastpool-bidir', pretrained='random', model_cfg=_tiny_cfg(
        no_causal_mask=True, pool_type='last'))
    assert type(enc.clip).__name__ == 'CustomTextCLIP'
    assert not enc.is_causal_eot
    lengths = _spy_lengths(monkeypatch, enc)
    out = enc.encode(TEXTS)
    assert lengths == [77]
    monkeypatch.undo()
    assert (out - _ref(enc, TEXTS)).abs().max() < 1e-5


def test_custom_text_causal_tower_is_truncated(monkeypatch):
    torch.manual_seed(0)
    enc = CLIPTextEncoder('custom-causal', pretrained='random', model_cfg=_tiny_cfg())
    assert type(enc.clip).__name__ == 'CustomTextCLIP' and enc.is_causal_eot
    lengths = _spy_lengths(monkeypatch, enc)
    out = enc.encode(TEXTS)
    assert lengths == [int(enc.tokenize(TEXTS).argmax(-1).max()) + 1] < [77]
    monkeypatch.undo()
    assert (out - _ref(enc, TEXTS)).abs().max() < 1e-5


def test_deepcopy_gives_an_equal_independent_encoder():
    # EMA hooks and model wrappers deep-copy models; the tower view must
    # survive copy's __init__-less reconstruction.
    import copy
    enc = CLIPTextEncoder(TINY, pretrained='random')
    twin = copy.deepcopy(enc)
    assert torch.equal(twin.encode(['a red circle']),
                       enc.encode(['a red circle']))
    next(twin.parameters()).data.add_(1.0)
    assert not torch.equal(next(twin.parameters()), next(enc.parameters()))


def _shard(tmp_path):
    return next(tmp_path.glob('text_features_*.pt'))


def test_a_bad_disk_shard_is_never_used(tmp_path):
    """Another word's feature, NaN, zeros or another width in a shard of
    these weights: the entries are encoded again, the file rewritten."""
    import pytest
    enc = CLIPTextEncoder(TINY, pretrained='random', cache_dir=str(tmp_path))
    truth = enc.encode(TEXTS)
    data = torch.load(_shard(tmp_path), weights_only=True)
    swapped = data['features'].clone()
    swapped[[0, 1]] = swapped[[1, 0]]  # 'a cat' holds another text's vector
    bad = {'another word': swapped,
           'NaN': torch.full_like(swapped, float('nan')),
           'zeros': torch.zeros_like(swapped),
           'width': F.normalize(torch.randn(len(swapped), 7), dim=-1)}
    for name, feats in bad.items():
        torch.save(dict(texts=data['texts'], features=feats), _shard(tmp_path))
        fresh = CLIPTextEncoder.from_clip(enc.clip, enc.tokenizer,
                                          cache_dir=str(tmp_path))
        with pytest.warns(UserWarning, match='not used'):
            got = fresh.encode(TEXTS)
        torch.testing.assert_close(got, truth, rtol=0, atol=1e-6, msg=name)
        assert fresh.num_encoded == len(TEXTS), name
        rewritten = torch.load(_shard(tmp_path), weights_only=True)
        torch.testing.assert_close(rewritten['features'], data['features'],
                                   rtol=0, atol=1e-6, msg=name)


def test_cache_keeps_the_most_recent_entries_only(tmp_path):
    from granzsl_mm.models.text.text_feature_cache import TextFeatureCache
    cache = TextFeatureCache(str(tmp_path), max_entries=3)
    cache.bind('k')
    feats = F.normalize(torch.randn(4, 5), dim=-1)
    cache.add(['a', 'b', 'c'], feats[:3])
    cache.get(['a'])  # 'a' used last: 'b' is the oldest now
    cache.add(['d'], feats[3:])
    assert cache.missing(['a', 'b', 'c', 'd']) == ['b']
    reread = TextFeatureCache(str(tmp_path), max_entries=3)
    reread.bind('k')
    assert reread.missing(['a', 'b', 'c', 'd']) == ['b']
