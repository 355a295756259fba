"""Snippet TTA under autocast (bf16 / fp16 towers, fp32 aggregation)."""

import pytest
import torch
from mmpretrain.structures import DataSample

from granzsl_mm.registry import MODELS
from tests.fixtures.tiny_granzsl import build_tiny_granzsl


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
    return build_tiny_granzsl(class_names=None)


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
                            autocast='bf16', views_per_call=None))
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
