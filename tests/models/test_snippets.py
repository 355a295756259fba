"""Snippet boxes, cutting and aggregation vs hand-computed cases."""
import math

import pytest
import torch
import torch.nn.functional as F

from granzsl_mm.models.tta import (
    aggregate_snippets,
    cut_snippets,
    image_scores,
    snippet_boxes,
)
from granzsl_mm.models.tta.snippets import local_scores


def test_boxes_order():
    boxes = snippet_boxes(224, (2, 3))
    assert boxes[:4] == [(0, 0, 112, 112), (112, 0, 224, 112),
                         (0, 112, 112, 224), (112, 112, 224, 224)]
    assert boxes[4:] == [(0, 0, 74, 74), (74, 0, 148, 74), (148, 0, 222, 74),
                         (0, 74, 74, 148), (74, 74, 148, 148),
                         (148, 74, 222, 148), (0, 148, 74, 222),
                         (74, 148, 148, 222), (148, 148, 222, 222)]
    assert snippet_boxes(224, ()) == []
    with pytest.raises(ValueError):
        snippet_boxes(224, (0,))


def test_cut_snippets_exact_and_resized():
    imgs = torch.arange(2 * 3 * 10 * 10, dtype=torch.float).reshape(2, 3, 10, 10)
    grids = (2, 3)
    boxes = snippet_boxes(10, grids)
    raw = cut_snippets(imgs, (2,), out_size=5)  # no resize for grid 2
    for k, (x1, y1, x2, y2) in enumerate(boxes[:4]):
        torch.testing.assert_close(raw[:, k], imgs[:, :, y1:y2, x1:x2])
    out = cut_snippets(imgs, grids)
    assert out.shape == (2, 13, 3, 10, 10)
    for k, (x1, y1, x2, y2) in enumerate(boxes):
        ref = F.interpolate(imgs[:, :, y1:y2, x1:x2], size=(10, 10),
                            mode='bicubic', align_corners=False, antialias=True)
        torch.testing.assert_close(out[:, k], ref)


def test_local_scores_softmax_pool():
    # softmax([0, ln 3]) = [1/4, 3/4]; score = 3/4 * ln 3 (s = 1)
    local = torch.tensor([0.0, math.log(3)]).reshape(1, 1, 1, 2)
    assert local_scores(local, 1.0).item() == pytest.approx(0.75 * math.log(3))


def test_aggregate_hand_case():
    crop_local = torch.tensor([0.1, 0.5, 0.2, 0.3]).reshape(1, 4, 1, 1, 1)
    crop_global = torch.tensor([0.2, 0.6, 0.1, 0.0]).reshape(1, 4, 1)
    full_local = torch.tensor(0.3).reshape(1, 1, 1, 1)
    full_global = torch.tensor([[0.4]])
    # local map = mean(0.5, 0.3) = 0.4 -> 20*0.4 = 8 (one position)
    # global = 20 * mean(0.6, 0.4) = 10; score = 0.5 * (10 + 8) = 9
    score = aggregate_snippets(full_local, full_global, crop_local,
                               crop_global, (2,), logit_scale=20.0)
    assert score.item() == pytest.approx(9.0)
    assert aggregate_snippets(full_local, full_global, crop_local, crop_global,
                              (2,), 20.0, mode='global').item() == pytest.approx(10)
    assert aggregate_snippets(full_local, full_global, crop_local, crop_global,
                              (2,), 20.0, mode='local').item() == pytest.approx(8)


def test_aggregate_tiles_row_major():
    # 2x2 maps, grid 2: crop k map = 10k + [[0, 1], [2, 3]]; tiled 4x4 and
    # max-pooled (2, 2) -> [[3, 13], [23, 33]]; mean with zero full map.
    crop_local = torch.stack([10 * k + torch.tensor([[0., 1.], [2., 3.]])
                              for k in range(4)]).reshape(1, 4, 1, 2, 2) / 100
    full_local = torch.zeros(1, 1, 2, 2)
    zeros_g = torch.zeros(1, 4, 1)
    got = aggregate_snippets(full_local, torch.zeros(1, 1), crop_local, zeros_g,
                             (2,), logit_scale=2.0, mode='local')
    expected_map = torch.tensor([[3., 13.], [23., 33.]]) / 200
    logits = 2.0 * expected_map.flatten()
    expected = (logits.softmax(0) * logits).sum()
    torch.testing.assert_close(got.squeeze(), expected)


def _loop_reference(fl, fg, cl, cg, grids, s):
    """Independent per-element implementation of the snippet aggregation."""
    bsz, ncls, h, w = fl.shape
    out = torch.zeros(bsz, ncls)
    for b in range(bsz):
        for c in range(ncls):
            maps, gls = [], []
            start = 0
            for n in grids:
                big = torch.zeros(n * h, n * w)
                for i in range(n):
                    for j in range(n):
                        big[i * h:(i + 1) * h, j * w:(j + 1) * w] = \
                            cl[b, start + i * n + j, c]
                pooled = torch.zeros(h, w)
                for p in range(h):
                    for q in range(w):
                        pooled[p, q] = big[p * n:(p + 1) * n,
                                           q * n:(q + 1) * n].max()
                maps.append(pooled)
                gls.append(cg[b, start:start + n * n, c].max())
                start += n * n
            lmap = (sum(maps) + fl[b, c]) / (len(maps) + 1)
            logit = s * lmap.flatten()
            loc = (torch.softmax(logit, 0) * logit).sum()
            glob = s * (sum(gls) + fg[b, c]) / (len(gls) + 1)
            out[b, c] = 0.5 * (glob + loc)
    return out


def test_aggregate_matches_loop_reference():
    g = torch.Generator().manual_seed(0)
    grids = (2, 3)
    fl = torch.rand(2, 3, 6, 6, generator=g) * 2 - 1
    fg = torch.rand(2, 3, generator=g) * 2 - 1
    cl = torch.rand(2, 13, 3, 6, 6, generator=g) * 2 - 1
    cg = torch.rand(2, 13, 3, generator=g) * 2 - 1
    got = aggregate_snippets(fl, fg, cl, cg, grids, logit_scale=20.0)
    torch.testing.assert_close(got, _loop_reference(fl, fg, cl, cg, grids, 20.0))


def test_no_snippets_equals_image_scores():
    fl = torch.rand(2, 3, 4, 4)
    fg = torch.rand(2, 3)
    got = aggregate_snippets(fl, fg, torch.zeros(2, 0, 3, 4, 4),
                             torch.zeros(2, 0, 3), (), 20.0)
    torch.testing.assert_close(got, image_scores(fl, fg, 20.0))
    logits = 20 * fl.flatten(2)
    ref = 0.5 * (20 * fg + (logits.softmax(-1) * logits).sum(-1))
    torch.testing.assert_close(got, ref)


def test_aggregate_shape_errors():
    with pytest.raises(ValueError, match='crop_local'):
        aggregate_snippets(torch.zeros(1, 2, 3, 3), torch.zeros(1, 2),
                           torch.zeros(1, 5, 2, 3, 3), torch.zeros(1, 5, 2), (2,),
                           20.0)
    with pytest.raises(ValueError, match='mode'):
        image_scores(torch.zeros(1, 2, 3, 3), torch.zeros(1, 2), 20.0,
                     mode='max')
