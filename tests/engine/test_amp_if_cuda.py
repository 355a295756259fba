"""AmpIfCudaOptimWrapper: AMP on CUDA, plain fp32 OptimWrapper on CPU."""
import copy
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import OptimWrapper, build_optim_wrapper

import granzsl_mm.engine.amp_if_cuda as amp_if_cuda
from granzsl_mm.registry import OPTIM_WRAPPERS

ROOT = osp.join(osp.dirname(__file__), '..', '..')


def _model():
    torch.manual_seed(0)
    return torch.nn.Linear(4, 3)


def _step(wrapper, model):
    x = torch.randn(5, 4, generator=torch.Generator().manual_seed(1))
    with wrapper.optim_context(model):
        assert not torch.is_autocast_enabled()
        out = model(x)
    assert out.dtype == torch.float32
    wrapper.update_params((out ** 2).sum())


def test_cpu_falls_back_to_fp32_optim_wrapper(monkeypatch):
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    model = _model()
    ref_model = copy.deepcopy(model)
    wrapper = OPTIM_WRAPPERS.build(dict(
        type='AmpIfCudaOptimWrapper', loss_scale='dynamic',
        optimizer=torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)))
    assert type(wrapper) is OptimWrapper
    _step(wrapper, model)
    ref = torch.optim.SGD(ref_model.parameters(), lr=0.1, momentum=0.9)
    x = torch.randn(5, 4, generator=torch.Generator().manual_seed(1))
    (ref_model(x) ** 2).sum().backward()
    ref.step()
    for p, q in zip(model.parameters(), ref_model.parameters()):
        torch.testing.assert_close(p, q, rtol=0, atol=0)


def test_paper_config_builds_fp32_on_cpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    cfg = Config.fromfile(osp.join(ROOT, 'configs', 'granzsl_coco.py'))
    assert cfg.optim_wrapper.type == 'AmpIfCudaOptimWrapper'
    from mmengine.registry import DefaultScope
    with DefaultScope.overwrite_default_scope('granzsl_mm'):
        wrapper = build_optim_wrapper(_model(), copy.deepcopy(
            cfg.optim_wrapper))
    assert type(wrapper) is OptimWrapper
    group = wrapper.optimizer.param_groups[0]
    assert (type(wrapper.optimizer).__name__, group['lr'], group['momentum'],
            group['weight_decay']) == ('SGD', 1e-4, 0.9, 5e-4)


def test_cuda_builds_amp_optim_wrapper(monkeypatch):
    """With CUDA the AmpOptimWrapper is built with the given arguments (a
    stand-in records them: mmengine's own asserts a device)."""
    calls = []

    class FakeAmp(OptimWrapper):
        def __init__(self, loss_scale, dtype, **kwargs):
            calls.append((loss_scale, dtype, sorted(kwargs)))
            super().__init__(**kwargs)

    monkeypatch.setattr(torch.cuda, 'is_available', lambda: True)
    monkeypatch.setattr(amp_if_cuda, 'AmpOptimWrapper', FakeAmp)
    model = _model()
    wrapper = amp_if_cuda.amp_if_cuda_optim_wrapper(
        torch.optim.SGD(model.parameters(), lr=0.1), clip_grad=None)
    assert isinstance(wrapper, FakeAmp)
    assert calls == [('dynamic', None, ['clip_grad', 'optimizer'])]


@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs CUDA')
def test_real_cuda_is_amp():
    from mmengine.optim import AmpOptimWrapper
    model = _model().cuda()
    wrapper = OPTIM_WRAPPERS.build(dict(
        type='AmpIfCudaOptimWrapper',
        optimizer=torch.optim.SGD(model.parameters(), lr=0.1)))
    assert isinstance(wrapper, AmpOptimWrapper)
    with wrapper.optim_context(model):
        out = model(torch.randn(2, 4, device='cuda'))
    assert out.dtype == torch.float16
