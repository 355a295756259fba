"""Snippet TTA under autocast (bf16 / fp16 towers, fp32 aggregation)."""
import json
import os.path as osp

import pytest
import torch
from mmpretrain.structures import DataSample

from granzsl_mm import register_all_modules
from granzsl_mm.registry import MODELS

TINY_CFG = osp.join(osp.dirname(__file__), '..', '..', 'granzsl_mm', 'models',
                    'backbones', 'model_configs', 'TinyCLIP-test.json')
MEAN = [0.48145466 * 255, 0.4578275 * 255, 0.40821073 * 255]
STD = [0.26862954 * 255, 0.26130258 * 255, 0.27577711 * 255]


class _Recorder(torch.nn.Module):
    """Backbone wrapper recording the autocast state and output dtype."""

    def __init__(self, inner):
        super().__init__()
        self.inner, self.states = inner, []

    def forward(self, x):
        out = self.inner(x)
        self.states.append((torch.is_autocast_enabled('cpu'),
                            torch.get_autocast_dtype('cpu'), out[0].dtype))
        return out


def _model():
    register_all_modules()
    torch.manual_seed(0)
    with open(TINY_CFG) as f:
        tiny = json.load(f)
    model = MODELS.build(dict(
        type='GranZSL',
        backbone=dict(type='OpenCLIPBackbone', arch='TinyCLIP-test',
                      pretrained=None, model_cfg=tiny, dense_mode='clearclip'),
        name_learner=dict(type='ClassNameLearner', num_tokens=4),
        num_classes=5, num_seen_classes=3,
        data_preprocessor=dict(type='TextImageDataPreprocessor', mean=MEAN,
                               std=STD, to_rgb=True)))
    return model.eval()


def _data():
    g = torch.Generator().manual_seed(1)
    imgs = [torch.randint(0, 256, (3, 32, 32), generator=g,
                          dtype=torch.uint8) for _ in range(3)]
    return dict(inputs=imgs, data_samples=[DataSample() for _ in imgs])


def test_autocast_bf16_close_to_fp32_and_scores_fp32():
    model = _model()
    ref_tta = MODELS.build(dict(type='SnippetTTAModel', module=model,
                                grids=(2, )))
    ref = torch.stack([s.pred_score for s in ref_tta.test_step(_data())])
    tta = MODELS.build(dict(type='SnippetTTAModel', module=model, grids=(2, ),
                            autocast='bf16'))
    recorder = _Recorder(model.backbone)
    real = model.backbone
    try:
        model.backbone = recorder
        out = tta.test_step(_data())
    finally:
        model.backbone = real
    assert recorder.states == [(True, torch.bfloat16, torch.bfloat16)]
    got = torch.stack([s.pred_score for s in out])
    assert got.dtype == torch.float32
    assert not torch.equal(got, ref)  # it did run in reduced precision
    torch.testing.assert_close(got, ref, rtol=0, atol=0.5)  # s = 20
    assert (got - ref).abs().mean() < 0.1


def test_autocast_option_validated():
    with pytest.raises(ValueError, match='autocast'):
        MODELS.build(dict(type='SnippetTTAModel', module=_model(),
                          autocast='int8'))
