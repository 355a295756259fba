"""VLPL CLIP pseudo-labels: the function against an explicit computation, and
the cache written by ``generate_pseudo_labels`` with the tiny CLIP."""
import math

import numpy as np
import pytest
import torch

from granzsl_mm import register_all_modules
from granzsl_mm.apis import clip_pseudo_labels, generate_pseudo_labels
from granzsl_mm.datasets import SPMLDataset, load_pseudo_labels
from granzsl_mm.registry import MODELS
from tests.fixtures.spml_data import make_tiny_voc
from tests.fixtures.tiny_override import tiny_model_cfg


def test_pseudo_labels_explicit():
    torch.manual_seed(0)
    img, txt = torch.randn(4, 8), torch.randn(5, 8)
    temp, thr, rho = 0.2, 0.3, 0.4
    soft, sim = clip_pseudo_labels(img, txt, temperature=temp, threshold=thr,
                                   rho=rho, positive_target=0.9,
                                   negative_target=0.05)
    for i in range(4):
        cos = [float(img[i] @ txt[c] / (img[i].norm() * txt[c].norm()))
               for c in range(5)]
        exps = [math.exp(x / temp) for x in cos]
        probs = [e / sum(exps) for e in exps]
        assert sim[i].tolist() == pytest.approx(probs, rel=1e-5)
        lowest = sorted(range(5), key=lambda c: probs[c])[:2]  # int(0.4*5)
        for c in range(5):
            if c in lowest:
                assert soft[i, c].item() == pytest.approx(0.05)
            elif probs[c] > thr:
                assert soft[i, c].item() == pytest.approx(0.9)
            else:
                assert math.isnan(soft[i, c].item())
    assert (soft == 0.9).any()  # the example exercises positives
    # the reference's defaults: T = 0.01, threshold 0.3, no negatives
    soft, sim = clip_pseudo_labels(img, txt)
    assert torch.equal(torch.isnan(soft), sim <= 0.3)


@pytest.mark.parametrize('kwargs,match', [
    (dict(temperature=0.0), 'temperature'), (dict(rho=1.5), 'rho')])
def test_pseudo_labels_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        clip_pseudo_labels(torch.randn(2, 4), torch.randn(3, 4), **kwargs)
    with pytest.raises(ValueError, match='features'):
        clip_pseudo_labels(torch.randn(2, 4), torch.randn(3, 5))


def test_generate_with_tiny_clip(tmp_path):
    register_all_modules()
    make_tiny_voc(str(tmp_path / 'voc'), num_train=10, num_val=2)
    pipeline = [dict(type='LoadImageFromFile'), dict(type='PackInputs')]
    root = str(tmp_path / 'voc' / 'VOCdevkit' / 'VOC2012')
    dataset = SPMLDataset(dataset=dict(type='VOCMultiLabelDataset',
                                       data_root=root),
                          split='train', pipeline=pipeline)
    torch.manual_seed(0)
    backbone = MODELS.build(dict(type='OpenCLIPBackbone', pretrained='random',
                                 arch='TinyCLIP-test',
                                 model_cfg=tiny_model_cfg(), out_type='global'))
    text = MODELS.get('CLIPTextEncoder').from_clip(backbone.clip,
                                                   backbone.tokenizer)
    prep = MODELS.build(dict(type='ClsDataPreprocessor', mean=[120.0] * 3,
                             std=[60.0] * 3, to_rgb=True))
    out = str(tmp_path / 'pl.npz')
    summary = generate_pseudo_labels(
        dataset, backbone, text, prep, out, templates=['{}'],
        temperature=0.05, threshold=0.1, rho=0.1, positive_target=0.9,
        batch_size=3)
    assert summary['num_images'] == len(dataset) == 8
    assert summary['negatives_per_image'] == 2  # int(0.1 * 20)
    # independent pass: all images in one batch
    batch = prep(dict(
        inputs=[dataset[i]['inputs'] for i in range(8)],
        data_samples=[dataset[i]['data_samples'] for i in range(8)]), False)
    with torch.no_grad():
        feats = backbone(batch['inputs'])[0]
        names = dataset.metainfo['classes']
        soft, _ = clip_pseudo_labels(
            feats, text.encode_with_templates(names, ['{}']),
            temperature=0.05, threshold=0.1, rho=0.1, positive_target=0.9)
    cache = load_pseudo_labels(out, names)
    assert cache['meta']['temperature'] == 0.05
    assert cache['meta']['templates'] == ['{}']
    for i in range(8):
        key = 'JPEGImages/' + dataset.get_data_info(i)['img_path'].split(
            '/')[-1]
        np.testing.assert_allclose(cache['soft_targets'][key],
                                   soft[i].numpy(), equal_nan=True)
    # the training set reads it back as soft_targets
    with_pl = SPMLDataset(dataset=dict(type='VOCMultiLabelDataset',
                                       data_root=root),
                          split='train', pseudo_label_file=out)
    np.testing.assert_allclose(with_pl.get_data_info(0)['soft_targets'],
                               soft[0].numpy(), equal_nan=True)
