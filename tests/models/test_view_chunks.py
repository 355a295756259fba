"""Views per backbone call: fixed, all, and measured ('auto') chunking give
the same outputs; 'auto' keeps the size measured fastest per view."""
import time

import pytest
import torch
from mmpretrain.structures import DataSample

from granzsl_mm.models.tta import ViewChunker
from granzsl_mm.registry import MODELS
from tests.fixtures.tiny_granzsl import build_tiny_granzsl


class _Encoder:
    """A fake backbone call: outputs depend on each view alone; records the
    size of every call; costs ``cost[size]`` seconds per view."""

    def __init__(self, cost=None):
        self.sizes, self.cost = [], cost or {}

    def __call__(self, views):
        self.sizes.append(views.shape[0])
        time.sleep(self.cost.get(views.shape[0], 0.0) * views.shape[0])
        flat = views.flatten(1)
        return flat[:, :4] * 2, flat.sum(1, keepdim=True)


def _views(n):
    return torch.arange(n * 3 * 2 * 2, dtype=torch.float32).reshape(
        n, 3, 2, 2)


def test_fixed_and_all_encode_each_view_once_in_order():
    views = _views(10)
    ref = _Encoder()(views)
    for chunker, sizes in ((ViewChunker(None), [10]),
                           (ViewChunker(4), [4, 4, 2]),
                           (ViewChunker(16), [10])):
        enc = _Encoder()
        local, glob = chunker(enc, views)
        assert enc.sizes == sizes
        assert torch.equal(local, ref[0]) and torch.equal(glob, ref[1])


def test_auto_times_each_size_twice_on_real_work_and_keeps_the_fastest():
    # 8 views per call are cheapest per view here, 4 and 16 slower
    enc = _Encoder(cost={4: 0.004, 8: 0.001, 16: 0.003})
    chunker = ViewChunker('auto', candidates=(4, 8, 16))
    views = _views(28)
    ref = _Encoder()(views)
    local, glob = chunker(enc, views)
    # 4, 4, 8, 8 timed, then 4 left (< 16: not a timing); nothing twice
    assert enc.sizes == [4, 4, 8, 8, 4]
    assert torch.equal(local, ref[0]) and torch.equal(glob, ref[1])
    assert chunker.chosen == {}  # 16 fits 28 views but is not timed yet
    chunker(enc, _views(32))  # 16, 16
    chunker(enc, _views(32))  # 16, 16 -> every size timed twice
    key = ('cpu', (3, 2, 2), torch.float32)
    assert chunker.chosen == {key: 8}
    enc.sizes.clear()
    chunker(enc, _views(20))
    assert enc.sizes == [8, 8, 4]
    assert 'views per backbone call on cpu [3, 2, 2]' in chunker.report()
    assert '-> 8' in chunker.report()


def test_auto_decides_among_the_sizes_a_call_can_fill():
    enc = _Encoder(cost={4: 0.002, 8: 0.001})
    chunker = ViewChunker('auto', candidates=(4, 8, 32))
    for _ in range(3):  # 4, 4, 6 | 8, 6 | 8 (timed twice), 6
        chunker(enc, _views(14))  # 32 never fits 14 views
    assert list(chunker.chosen.values()) == [8]


@pytest.mark.parametrize('bad', [0, -1, 'all', 2.5])
def test_views_per_call_validated(bad):
    with pytest.raises(ValueError, match='views_per_call'):
        ViewChunker(bad)


def test_snippet_tta_scores_do_not_depend_on_the_chunking():
    model = build_tiny_granzsl(class_names=None)
    g = torch.Generator().manual_seed(3)
    imgs = [torch.randint(0, 256, (3, 32, 32), generator=g,
                          dtype=torch.uint8) for _ in range(3)]

    def scores(views_per_call):
        tta = MODELS.build(dict(type='SnippetTTAModel', module=model,
                                grids=(2, 3), views_per_call=views_per_call))
        data = dict(inputs=list(imgs),
                    data_samples=[DataSample() for _ in imgs])
        return torch.stack([s.pred_score for s in tta.test_step(data)])

    ref = scores(None)  # 3 images x 14 views in one call
    for views_per_call in (1, 5, 'auto'):
        torch.testing.assert_close(scores(views_per_call), ref, rtol=0,
                                   atol=1e-5)
