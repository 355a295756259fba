"""Prompt encoding: exact length cuts, the on-disk feature cache, chunks."""
import torch

from granzsl_mm.models.text import CLIPTextEncoder, set_default_cache_dir
from granzsl_mm.models.text.text_feature_cache import default_cache_dir

TINY = 'TinyCLIP-test'
PROMPTS = ['a cat', 'a photo of a big brown dog sitting on a red sofa.',
           'person', 'a blurry photo of the small tree.', 'x', 'a boat']


def _encoder(**kwargs):
    torch.manual_seed(0)
    return CLIPTextEncoder(TINY, pretrained='random', **kwargs)


def test_cut_encoding_equals_full_length():
    enc = _encoder(batch_size=2, cache_dir=None, progress=False)
    lengths = []
    orig = enc.tower.transformer.forward

    def spy(x, attn_mask=None):
        lengths.append(x.shape[1])
        return orig(x, attn_mask=attn_mask)

    enc.tower.transformer.forward = spy
    cut = enc._encode_uncached(PROMPTS)
    full = CLIPTextEncoder.from_clip(enc.clip, enc.tokenizer, truncate=False,
                                     cache_dir=None)._encode_uncached(PROMPTS)
    assert (cut - full).abs().max() < 1e-6
    # sorted by length: each batch of 2 cut to its own longest prompt
    ends = sorted(int(t.argmax()) + 1 for t in enc.tokenize(PROMPTS))
    assert lengths[:3] == ends[1::2] and ends[1::2][-1] < 20
    assert max(lengths[3:]) == 77


def test_disk_cache_hit_and_misses(tmp_path):
    enc = _encoder(cache_dir=str(tmp_path))
    first = enc.encode(PROMPTS)
    again = _encoder(cache_dir=str(tmp_path))  # same seed: same weights
    hit = again.encode(PROMPTS)
    assert again.num_encoded == 0 and torch.equal(first, hit)
    again.encode(PROMPTS + ['a new prompt'])  # a changed prompt misses
    assert again.num_encoded == 1
    with torch.no_grad():  # a changed weight misses
        again.clip.transformer.resblocks[0].mlp.c_fc.weight.add_(0.01)
    changed = again.encode(PROMPTS)
    assert again.num_encoded == 1 + len(PROMPTS)
    assert not torch.allclose(changed, first)
    assert len(list(tmp_path.glob('text_features_*.pt'))) == 2


def test_activation_is_part_of_the_key(tmp_path):
    gelu = _encoder(cache_dir=str(tmp_path))
    gelu.encode(PROMPTS)
    torch.manual_seed(0)
    from granzsl_mm.models.backbones.open_clip_builder import build_open_clip
    clip, tok = build_open_clip(TINY, pretrained='random', quick_gelu=True)
    clip.load_state_dict(gelu.clip.state_dict())
    quick = CLIPTextEncoder.from_clip(clip, tok, cache_dir=str(tmp_path))
    quick.encode(PROMPTS)
    assert quick.num_encoded == len(PROMPTS)


def test_open_images_scale_names_in_chunks(tmp_path):
    names = [f'class {i}' for i in range(7586)]
    enc = _encoder(cache_dir=str(tmp_path), batch_size=1024, progress=False)
    calls = []
    orig = enc._encode_tokens
    enc._encode_tokens = lambda tokens: calls.append(len(tokens)) or orig(
        tokens)
    feats = enc.encode(names)
    assert calls == [1024] * 7 + [7586 - 7 * 1024]
    other = _encoder(cache_dir=str(tmp_path), batch_size=1024)
    assert torch.equal(other.encode(names), feats)
    assert other.num_encoded == 0


def test_auto_cache_dir(tmp_path, monkeypatch):
    monkeypatch.delenv('GRANZSL_MM_TEXT_CACHE', raising=False)
    try:
        set_default_cache_dir(str(tmp_path))
        assert _encoder().cache.cache_dir == str(tmp_path)
        set_default_cache_dir(None)
        assert _encoder().cache.cache_dir is None
    finally:
        from granzsl_mm.models.text import text_feature_cache
        text_feature_cache._default_dir.clear()
    monkeypatch.setenv('GRANZSL_MM_TEXT_CACHE', str(tmp_path / 'env'))
    assert default_cache_dir() == str(tmp_path / 'env')
