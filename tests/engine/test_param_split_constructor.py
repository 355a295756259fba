"""Several optimizers split by parameter name, timm's cosine schedule, and
the tools' handling of an optim-wrapper dict (--amp, the proving ground's
rate grid)."""
import os.path as osp

import pytest
import torch
import torch.nn as nn
from mmengine.config import Config
from mmengine.optim import OptimWrapperDict

from granzsl_mm.engine import ParamSplitOptimWrapperConstructor, TimmCosineLR
from granzsl_mm.engine.param_split_constructor import split_parameter_names

DEMO = osp.join(osp.dirname(__file__), '..', '..', 'configs',
                'recover_match_demo.py')


class Toy(nn.Module):

    def __init__(self):
        super().__init__()
        self.frozen = nn.Linear(2, 2).requires_grad_(False)
        self.adapters = nn.Linear(2, 2)
        self.tokens = nn.Parameter(torch.zeros(3))
        self.temperature = nn.Parameter(torch.ones(()))


def test_split_by_prefix_and_its_errors():
    names = ['adapters.weight', 'tokens', 'temperature']
    assert split_parameter_names(names, {'a': None, 's': ('tokens', )}) == {
        'a': ['adapters.weight', 'temperature'], 's': ['tokens']}
    with pytest.raises(ValueError, match='exactly one'):
        split_parameter_names(names, {'a': None, 's': None})
    with pytest.raises(ValueError, match='several'):
        split_parameter_names(names, {'a': None, 's': ('tok', ),
                                      't': ('tokens', )})
    with pytest.raises(ValueError, match='match no'):
        split_parameter_names(names, {'a': None, 's': ('embeds', )})


def test_constructor_builds_one_wrapper_per_entry():
    build = ParamSplitOptimWrapperConstructor(dict(
        adamw=dict(optimizer=dict(type='AdamW', lr=1e-2, weight_decay=1e-4),
                   paramwise_cfg=dict(custom_keys={
                       'adapters.': dict(lr_mult=0.1)})),
        sgd=dict(optimizer=dict(type='SGD', lr=1e-3, momentum=0.9),
                 params=('tokens', ))))
    model = Toy()
    wrappers = build(model)
    assert isinstance(wrappers, OptimWrapperDict)
    adamw = wrappers['adamw'].optimizer
    got = {id(p): g['lr'] for g in adamw.param_groups for p in g['params']}
    assert got == {id(model.adapters.weight): pytest.approx(1e-3),
                   id(model.adapters.bias): pytest.approx(1e-3),
                   id(model.temperature): 1e-2}
    sgd = wrappers['sgd'].optimizer
    assert [p for g in sgd.param_groups for p in g['params']] == [
        model.tokens]
    with pytest.raises(ValueError, match='leaves out'):
        ParamSplitOptimWrapperConstructor(dict(
            a=dict(optimizer=dict(type='SGD', lr=1.0), params=('x', ))))


def test_timm_cosine_matches_the_reference_rates():
    # the reference's make_scheduler (EricTan7/RAM @ f2073f9) on configs/
    # coco.yml, printed once: epochs 1 and 2 of AdamW (adapters, temperatures)
    # and SGD (tokens)
    reference = {1: (2.0000000000000003e-06, 1.7e-05, 0.0003336666666666667),
                 2: (3.5000000000000004e-06, 3.35e-05, 0.0006668333333333333)}
    p = [nn.Parameter(torch.zeros(1)) for _ in range(3)]
    opt = torch.optim.SGD([dict(params=[p[0]], lr=5e-6),
                           dict(params=[p[1]], lr=5e-5),
                           dict(params=[p[2]], lr=1e-3)], lr=1.0)
    sched = TimmCosineLR(opt, t_initial=60, warmup_t=3, warmup_lr_init=5e-7,
                         lr_min=1e-7, first_t=1)
    for epoch in (1, 2):
        got = [g['lr'] for g in opt.param_groups]
        assert got == pytest.approx(reference[epoch], rel=1e-12)
        opt.step()
        sched.step()


def test_amp_and_the_rate_grid_reach_every_wrapper(monkeypatch, tmp_path):
    from granzsl_mm.engine import prepare_train_cfg
    from granzsl_mm.proving_ground.stages import image_lr
    cfg = Config.fromfile(DEMO)
    assert image_lr(cfg.optim_wrapper, 5e-3) == 5e-3
    assert cfg.optim_wrapper.sgd.optimizer.lr == pytest.approx(0.1)
    single = dict(optimizer=dict(type='AdamW', lr=1e-3))
    assert image_lr(single, 2e-4) == 2e-4 == single['optimizer']['lr']
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: True)
    prepare_train_cfg(cfg, DEMO,
                      work_dir=str(tmp_path), amp=True)
    assert cfg.optim_wrapper.adamw.type == 'AmpOptimWrapper'
    assert cfg.optim_wrapper.sgd.type == 'AmpOptimWrapper'


def test_distributed_training_of_several_optimizers(tmp_path):
    # mmengine's DDP becomes TrainableDDP, which steps every wrapper; a
    # wrapper that steps one optimizer (FSDP here) is refused in one line
    from granzsl_mm.engine import RunnerSetupError, prepare_train_cfg
    cfg = Config.fromfile(DEMO)
    prepare_train_cfg(cfg, DEMO, work_dir=str(tmp_path), launcher='pytorch')
    assert cfg.model_wrapper_cfg.type == 'TrainableDDP'
    cfg = Config.fromfile(DEMO)
    cfg.model_wrapper_cfg = dict(type='MMFullyShardedDataParallel')
    with pytest.raises(RunnerSetupError, match='several optimizers'):
        prepare_train_cfg(cfg, DEMO, work_dir=str(tmp_path),
                          launcher='pytorch')
