"""The prediction picture: image at a readable size, a panel beside it."""
import numpy as np
import pytest
import torch
from mmpretrain.structures import DataSample
from PIL import Image

from granzsl_mm.apis.label_drawing import (
    KIND_COLOURS,
    draw_label_panel,
    result_sections,
    sample_sections,
)

META = dict(classes=['square', 'circle', 'red square', 'blue circle',
                     'green star'],
            seen_classes=['square', 'circle', 'red square'],
            unseen_classes=['blue circle', 'green star'])


def _rgb(hex_colour: str) -> np.ndarray:
    return np.array([int(hex_colour[i:i + 2], 16) for i in (1, 3, 5)])


def _has_colour(region: np.ndarray, hex_colour: str, tol: int = 40) -> bool:
    return bool((np.abs(region.astype(int) - _rgb(hex_colour)).max(-1)
                 < tol).any())


def test_sample_sections_rank_predictions_and_split_the_ground_truth():
    sample = DataSample().set_pred_score(
        torch.tensor([3.0, 1.0, 5.0, 4.0, -2.0])).set_gt_score(
            torch.tensor([1., 0., 1., -1., 0.]))
    (head, preds), (gt_head, gt) = sample_sections(sample, META, topk=3)
    assert head.startswith('Top-3')
    assert preds == [('red square', 5.0, ('seen', ), True),
                     ('blue circle', 4.0, ('unseen', ), False),
                     ('square', 3.0, ('seen', ), True)]
    assert gt_head == 'Ground truth (+1 unknown)'
    assert [line[0] for line in gt] == ['square', 'red square']
    # a per-set score (MKT / SigRL's ZSL field shape): unseen names
    zsl = DataSample().set_pred_score(torch.tensor([0.2, 0.7]))
    [(_, preds)] = sample_sections(zsl, META, topk=5)  # no ground truth
    assert [p[0] for p in preds] == ['green star', 'blue circle']
    # a dataset without a zero-shot split (SPML): no seen / unseen tags
    plain = DataSample().set_pred_score(torch.tensor([0.1, 0.9]))
    plain.set_gt_label([1])
    (_, preds), (_, gt) = sample_sections(plain, dict(classes=['a', 'b']))
    assert preds == [('b', pytest.approx(0.9), (), True),
                     ('a', pytest.approx(0.1), (), False)]
    assert gt == [('b', None, (), False)]


def test_panel_is_beside_the_image_and_tells_unseen_apart():
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, size=(30, 45, 3), dtype=np.uint8)
    sample = DataSample().set_pred_score(
        torch.tensor([3.0, 1.0, 5.0, 4.0, -2.0])).set_gt_score(
            torch.tensor([1., 0., 1., -1., 0.]))
    picture = draw_label_panel(image, sample_sections(sample, META),
                               title='img.png', short_side=120)
    resized = np.asarray(Image.fromarray(image).resize((180, 120),
                                                       Image.BICUBIC))
    # the image at the asked size, untouched by any text
    assert np.array_equal(picture[:120, :180], resized)
    panel = picture[:, 185:]
    assert panel.shape[1] > 300
    # text in the panel: unseen lines in red, seen ones in blue
    assert _has_colour(panel, KIND_COLOURS['unseen'])
    assert _has_colour(panel, KIND_COLOURS['seen'])
    # without an unseen class among the lines: no red at all
    seen_only = DataSample().set_pred_score(torch.tensor(
        [3.0, 1.0, 5.0, -4.0, -2.0]))
    plain = draw_label_panel(image, sample_sections(seen_only, META, 3),
                             short_side=120)
    assert not _has_colour(plain[:, 185:], KIND_COLOURS['unseen'])


def test_result_sections_follow_the_inferencer_rankings():
    merged = dict(merged=True, labels=['dog', 'cat'], scores=[2.0, 1.0],
                  sources=['learned', 'learned'])
    assert result_sections(merged, unseen=['cat']) == [
        ('Predictions (score)', [('dog', 2.0, ('learned', ), False),
                                 ('cat', 1.0, ('learned', 'unseen'),
                                  False)])]
    apart = dict(merged=False, by_source=dict(
        learned=dict(labels=['dog'], scores=[11.0]),
        prompt=dict(labels=['zebra'], scores=[-15.0])))
    assert result_sections(apart) == [
        ('Learned names (score)', [('dog', 11.0, ('learned', ), False)]),
        ('Prompt words (score)', [('zebra', -15.0, ('prompt', ), False)])]
