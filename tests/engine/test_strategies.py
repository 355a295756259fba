"""FlexibleRunner strategy configs (FSDP / DeepSpeed) build on CPU."""
import json
import os.path as osp

import pytest
from mmengine.config import Config
from mmengine.registry import FUNCTIONS, STRATEGIES

ROOT = osp.join(osp.dirname(__file__), '..', '..')
STRATEGY_DIR = osp.join(ROOT, 'configs', '_base_', 'strategies')
TINY_CFG = osp.join(ROOT, 'granzsl_mm', 'models', 'backbones',
                    'model_configs', 'TinyCLIP-test.json')


def _method_with(strategy: str, tmp_path,
                 method: str = 'granzsl_coco.py') -> Config:
    """A paper config + a strategy base (no duplicate keys allowed)."""
    path = tmp_path / f'with_{strategy}.py'
    method = osp.abspath(osp.join(ROOT, 'configs', method))
    base = osp.abspath(osp.join(STRATEGY_DIR, f'{strategy}.py'))
    path.write_text(f'_base_ = [{method!r}, {base!r}]\n')
    return Config.fromfile(str(path))


def test_fsdp_config_and_strategy(tmp_path):
    cfg = _method_with('fsdp', tmp_path)
    assert cfg.runner_type == 'FlexibleRunner'
    assert cfg.model.type == 'GranZSL'  # the method config is intact
    # the strategy's logger writes under work_dir (default ./work_dirs)
    strategy = STRATEGIES.build(dict(cfg.strategy, work_dir=str(tmp_path)))
    assert type(strategy).__name__ == 'FSDPStrategy'
    assert strategy.model_wrapper['auto_wrap_policy'] == dict(
        type='clip_block_wrap_policy')
    # the wrap policy named in the config resolves (custom_imports) and
    # selects exactly the transformer blocks of both towers
    import importlib
    for mod in cfg.custom_imports['imports']:
        importlib.import_module(mod)
    policy = FUNCTIONS.get('clip_block_wrap_policy')
    from granzsl_mm.models.backbones.open_clip_builder import build_open_clip
    with open(TINY_CFG) as f:
        clip, _ = build_open_clip('TinyCLIP-test', pretrained='random',
                                  model_cfg=json.load(f))
    wrapped = [name for name, m in clip.named_modules()
               if policy(m, recurse=False, nonwrapped_numel=0)]
    assert wrapped == [f'visual.transformer.resblocks.{i}' for i in (0, 1)] \
        + [f'transformer.resblocks.{i}' for i in (0, 1)]
    assert policy(clip, recurse=True, nonwrapped_numel=0)


@pytest.mark.parametrize('method', ['mkt_coco.py', 'sigrl_nuswide.py'])
def test_strategies_combine_with_fine_tuning_configs(method, tmp_path):
    for strategy in ('fsdp', 'deepspeed'):
        cfg = _method_with(strategy, tmp_path, method)
        assert cfg.runner_type == 'FlexibleRunner'
        assert cfg.strategy.type in ('FSDPStrategy', 'DeepSpeedStrategy')
        assert 'optimizer' in cfg.optim_wrapper


def test_deepspeed_config_and_strategy(tmp_path):
    cfg = _method_with('deepspeed', tmp_path)
    assert cfg.runner_type == 'FlexibleRunner'
    assert cfg.strategy.zero_optimization.stage == 2
    pytest.importorskip('deepspeed')
    strategy = STRATEGIES.build(dict(cfg.strategy, work_dir=str(tmp_path)))
    assert type(strategy).__name__ == 'DeepSpeedStrategy'
