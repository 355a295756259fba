"""The one runner's plan: the worlds' settings and the seeds of each world
(no model runs; the runs themselves: test_evidence_e2e.py)."""
import pytest

from granzsl_mm.proving_ground.pipeline import (
    IMAGE_METHODS,
    WORLD_SETTINGS,
    run_proving_ground,
    seed_plan,
    world_settings,
)


def test_seed_plan_separates_the_streams():
    plans = [seed_plan(i) for i in range(5)]
    values = [v for p in plans for v in p.values()]
    assert len(values) == len(set(values))  # no stream shared
    assert plans[2] == dict(world=2, val=1002, pretrain=2002, granzsl=3002,
                            mkt=4002, sigrl=5002, dualcoop=6002,
                            recover_match=7002)
    # the single world: its seed, every training seed the config's
    assert seed_plan(None, world_seed=7) == dict(
        world=7, val=None, pretrain=None, granzsl=None, mkt=None, sigrl=None,
        dualcoop=None, recover_match=None)
    # every method trained on images has its seed stream and its grid
    for _, tag in IMAGE_METHODS.values():
        assert tag in plans[0] and f'{tag}_lrs' in WORLD_SETTINGS['v2']


def test_world_settings_defaults_and_overrides():
    v1 = world_settings('v1')
    assert v1 == WORLD_SETTINGS['v1'] and v1 is not WORLD_SETTINGS['v1']
    assert (v1['num_train'], v1['num_val'], v1['mkt_lrs']) == (4000, 0, None)
    v2 = world_settings('v2', num_train=800, pretrain_iters=None)
    assert (v2['num_train'], v2['pretrain_iters'], v2['num_val']) == (
        800, 200, 300)  # None keeps the world's
    with pytest.raises(TypeError, match='unknown settings'):
        world_settings('v2', lr=3)
    with pytest.raises(KeyError, match='unknown world'):
        world_settings('v9')
    with pytest.raises(TypeError, match='unknown settings'):
        run_proving_ground(seeds=1, lr=3)
    with pytest.raises(ValueError, match='seeds must be >= 1'):
        run_proving_ground(seeds=0)
