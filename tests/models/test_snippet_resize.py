"""Snippet preprocessing and aggregation vs GranZSL's reference (RCNn).

Golden numbers: ``tests/fixtures/golden/rcnn_aggregator_golden.npz`` holds
inputs and outputs of RCNn's own ``CustomCLIP.aggregatorplus`` (grids
``[2, 3]``, logit scale 20) and of its ``forward_for_open`` pooling, run on
random fp32 inputs outside this project (one class of the five recorded
for the snippet path; the aggregation is per image and class). The crop
boxes are those of RCNn's ``CutImageplus`` on a 224 image.
"""
import os.path as osp

import numpy as np
import pytest
import torch
from mmpretrain.structures import DataSample
from PIL import Image

from granzsl_mm.models.tta import (
    RESIZE_MODES,
    aggregate_snippets,
    cut_snippets,
    image_scores,
    snippet_boxes,
)
from granzsl_mm.registry import MODELS
from tests.fixtures.tiny_granzsl import build_tiny_granzsl

GOLDEN = osp.join(osp.dirname(osp.dirname(__file__)), 'fixtures', 'golden',
                  'rcnn_aggregator_golden.npz')

# RCNn CutImageplus, count_list [2, 3], (left, top, right, bottom) on 224.
RCNN_BOXES = [
    (0, 0, 112, 112), (112, 0, 224, 112), (0, 112, 112, 224),
    (112, 112, 224, 224), (0, 0, 74, 74), (74, 0, 148, 74),
    (148, 0, 222, 74), (0, 74, 74, 148), (74, 74, 148, 148),
    (148, 74, 222, 148), (0, 148, 74, 222), (74, 148, 148, 222),
    (148, 148, 222, 222)
]


def _golden():
    with np.load(GOLDEN) as d:
        return {k: torch.from_numpy(d[k]) for k in d.files}


def test_boxes_are_the_reference_boxes():
    assert snippet_boxes(224, (2, 3)) == RCNN_BOXES


def test_aggregation_matches_rcnn_aggregatorplus():
    g = _golden()
    crop_local = g['tiles_local'].permute(1, 0, 2, 3, 4)  # [B, 13, C, h, w]
    crop_global = g['tiles_glob'].permute(1, 0, 2)
    out = aggregate_snippets(g['full_local'], g['full_glob'], crop_local,
                             crop_global, (2, 3), 20.0)
    # recorded on another CPU: scores ~2, so 2e-6 is a few float32 ulps
    torch.testing.assert_close(out, g['out'], rtol=0, atol=2e-6)


def test_full_image_scores_match_rcnn_forward_for_open():
    g = _golden()
    local = torch.einsum('bpd,cd->bcp', g['open_patch_feats'][:, 1:],
                         g['open_text'])  # patch tokens, CLS dropped
    glob = g['open_cls_feat'] @ g['open_text'].t()
    out = image_scores(local, glob, 20.0)
    # recorded on another CPU: a few float32 ulps
    torch.testing.assert_close(out, g['open_out'], rtol=1e-6, atol=1e-6)


def _pil_reference_crops(img: np.ndarray, resample) -> torch.Tensor:
    """Crops of a 224 uint8 image resized to 224 by PIL (= torchvision
    ``Resize((224, 224))`` on a PIL image for BILINEAR)."""
    pil = Image.fromarray(img)
    crops = [np.asarray(pil.crop(b).resize((224, 224), resample))
             for b in RCNN_BOXES]
    return torch.from_numpy(np.stack(crops)).permute(0, 3, 1, 2).float()


def test_bilinear_mode_is_pil_bilinear():
    rng = np.random.default_rng(0)
    # flat patches plus a sharp edge: both matter for a resize
    base = rng.integers(0, 256, (28, 28, 3), dtype=np.uint8)
    img = np.asarray(Image.fromarray(base).resize((224, 224), Image.NEAREST))
    img = img.copy()
    img[100:130, 30:200] = 255
    tensor = torch.from_numpy(img).permute(2, 0, 1)[None].float()
    got = cut_snippets(tensor, (2, 3), mode='bilinear')[0]
    assert got.shape == (13, 3, 224, 224)
    # PIL's float resize ('F' images): the same arithmetic
    for c in range(3):
        pil = Image.fromarray(img[:, :, c].astype(np.float32), mode='F')
        ref = np.stack([np.asarray(pil.crop(b).resize((224, 224),
                                                       Image.BILINEAR))
                        for b in RCNN_BOXES])
        np.testing.assert_allclose(got[:, c].numpy(), ref, rtol=0, atol=5e-3)
    # on uint8 (what RCNn resizes) PIL rounds after each of its two passes
    ref = _pil_reference_crops(img, Image.BILINEAR)
    assert (got - ref).abs().max() <= 1.0
    assert (got - ref).abs().mean() < 0.1
    bicubic = cut_snippets(tensor, (2, 3), mode='bicubic')[0]
    assert (bicubic - ref).abs().max() > 10  # the other mode is not it
    # the default stays bicubic (earlier results)
    torch.testing.assert_close(cut_snippets(tensor, (2, 3))[0], bicubic)


def test_resize_mode_validated():
    assert RESIZE_MODES == ('bilinear', 'bicubic')
    with pytest.raises(ValueError, match='mode'):
        cut_snippets(torch.zeros(1, 3, 8, 8), (2, ), mode='nearest')


@pytest.mark.parametrize('mode', RESIZE_MODES)
def test_tta_model_resizes_snippets_with_its_mode(mode):
    model = build_tiny_granzsl(class_names=None)
    g = torch.Generator().manual_seed(1)
    imgs = [torch.randint(0, 256, (3, 32, 32), generator=g,
                          dtype=torch.uint8) for _ in range(2)]
    data = dict(inputs=imgs, data_samples=[DataSample() for _ in imgs])
    tta = MODELS.build(dict(type='SnippetTTAModel', module=model,
                            grids=(2, ), snippet_resize=mode))
    assert tta.snippet_resize == mode
    seen = []
    real = model.view_cosines

    def spy(views):
        seen.append(views)
        return real(views)

    model.view_cosines = spy
    tta.test_step(data)
    images = model.data_preprocessor(data, False)['inputs']
    views = torch.cat(seen).reshape(2, 5, *images.shape[1:])  # all calls
    torch.testing.assert_close(views[:, 0], images)
    torch.testing.assert_close(views[:, 1:],
                               cut_snippets(images, (2, ), mode=mode))


def test_tta_model_default_and_validation():
    model = build_tiny_granzsl(class_names=None)
    tta = MODELS.build(dict(type='SnippetTTAModel', module=model))
    assert tta.snippet_resize == 'bicubic'
    with pytest.raises(ValueError, match='snippet_resize'):
        MODELS.build(dict(type='SnippetTTAModel', module=model,
                          snippet_resize='area'))
