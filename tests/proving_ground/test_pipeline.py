"""The one runner's plan: the worlds' settings and the seeds of each world
(no model runs; the runs themselves: test_evidence_e2e.py)."""
import pytest

from granzsl_mm.proving_ground.pipeline import (
    CAPTION_METHODS,
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
                            recover_match=7002, taidpt=8002)
    # the single world: its seed, every training seed the config's
    assert seed_plan(None, world_seed=7) == dict(
        world=7, val=None, pretrain=None, granzsl=None, mkt=None, sigrl=None,
        dualcoop=None, recover_match=None, taidpt=None)
    # every method trained on images has its seed stream and its grid
    for _, tag in IMAGE_METHODS.values():
        assert tag in plans[0] and f'{tag}_lrs' in WORLD_SETTINGS['v2']
    # the methods trained on captions have their seed stream
    for _, tag in CAPTION_METHODS.values():
        assert tag in plans[0]


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


@pytest.mark.slow  # draws a tiny world (a few seconds)
def test_run_world_rows_seeds_and_stage_keys(tmp_path, monkeypatch):
    """``run_world``'s plan with every stage replaced by a recorder: the
    TaI-DPT row (its seed, validation, the table's protocol) and the
    SigLIP-style tower (pre-trained with the tiny CLIP's seed beside it, its
    rows scored on its own checkpoint) join the rows, cached under keys of
    their own; leaving them out leaves the other stages' keys as they
    were."""
    import json
    import os.path as osp

    from granzsl_mm.proving_ground import pipeline
    from granzsl_mm.proving_ground.report import (
        SIGMOID_BOTH,
        SIGMOID_GLOBAL,
        TAIDPT,
    )
    root = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))
    calls = []
    metrics = {'zsl/mAP': 30.0, 'gzsl/mAP': 20.0}
    levels = {'colour shape': 30.0}

    def pretrain(config, data_root, work_dir, max_iters=None, force=False,
                 seed=None):
        name = ('tiny_siglip' if 'siglip' in osp.basename(config)
                else 'tiny_clip')
        calls.append(('pretrain', osp.basename(config), seed, max_iters))
        with open(osp.join(data_root, name + '.json'), 'w') as f:
            json.dump(dict(key=name + '-key'), f)
        return osp.join(data_root, name + '.pt')

    def sigmoid(cfg, meta, work_dir, checkpoint, arch, score_mode='global'):
        calls.append(('sigmoid', osp.basename(checkpoint), arch, score_mode))
        return metrics

    def image(config, data_root, checkpoint, meta, work_dir, protocol,
              seed=None, lrs=None, max_epochs=None, validate=False,
              level_names=None):
        calls.append(('image', osp.basename(config), seed, lrs, validate,
                      dict(protocol)))
        return dict(table=metrics, own=metrics,
                    selected=dict(lr=2e-5, epoch=2, val=[]),
                    levels=dict(table=levels))

    monkeypatch.setattr(pipeline, 'pretrain_tiny_clip', pretrain)
    monkeypatch.setattr(pipeline, 'sigmoid_zero_shot', sigmoid)
    monkeypatch.setattr(pipeline, 'train_and_test_image_model', image)
    monkeypatch.setattr(pipeline, 'clip_zero_shot',
                        lambda *a, **k: metrics)
    monkeypatch.setattr(pipeline, 'tagclip_zero_shot',
                        lambda *a, **k: metrics)
    monkeypatch.setattr(pipeline, 'train_and_test_granzsl',
                        lambda *a, **k: dict(
                            plain=metrics, snippets=metrics,
                            levels=dict(plain=levels, snippets=levels)))
    monkeypatch.setattr(pipeline, 'per_level_ap', lambda *a, **k: levels)
    settings = world_settings('v2', num_train=64, num_test=24, num_val=16)
    work, data = str(tmp_path / 'work'), str(tmp_path / 'data')
    out = pipeline.run_world(work, data, osp.join(root, 'configs'), settings,
                             seed_plan(3), index=3, ablations=False,
                             image_methods=False, progress=False)
    methods = [r['method'] for r in out['rows']]
    assert methods.index(SIGMOID_GLOBAL) < methods.index(SIGMOID_BOTH) < \
        methods.index('GranZSL, snippets') < methods.index(TAIDPT)
    taidpt = out['rows'][methods.index(TAIDPT)]
    assert taidpt['selected']['epoch'] == 2 and taidpt['levels'] == levels
    assert ('pretrain', 'pretrain_tiny_clip_demo.py', 2003, 200) in calls
    assert ('pretrain', 'pretrain_tiny_siglip_demo.py', 2003, 200) in calls
    assert [c[1:] for c in calls if c[0] == 'sigmoid'] == [
        ('tiny_siglip.pt', 'TinyCLIP-world-sigmoid', 'global'),
        ('tiny_siglip.pt', 'TinyCLIP-world-sigmoid', 'both')]
    assert [c[1:] for c in calls if c[0] == 'image'] == [
        ('taidpt_demo.py', 8003, None, True,
         dict(empty_class='zero', drop_empty_images=True))]
    with open(osp.join(work, 'stages.json')) as f:
        stages = json.load(f)
    assert {'sigmoid_global', 'sigmoid_both', 'taidpt_demo.py'} <= set(stages)
    # without the new rows, the other stages keep their keys
    out2 = pipeline.run_world(str(tmp_path / 'work2'), data,
                              osp.join(root, 'configs'), settings,
                              seed_plan(3), index=3, ablations=False,
                              image_methods=False, caption_methods=False,
                              sigmoid_tower=False, progress=False)
    assert TAIDPT not in [r['method'] for r in out2['rows']]
    with open(tmp_path / 'work2' / 'stages.json') as f:
        other = json.load(f)
    assert set(stages) - set(other) == {'sigmoid_global', 'sigmoid_both',
                                        'taidpt_demo.py'}
    for name, entry in other.items():
        assert stages[name]['key'] == entry['key'], name


def test_level_chance_counts_an_empty_unseen_class_as_the_protocol_does():
    """The per-level chance line counts an unseen class without positives
    as the per-level AP does: 0 under empty_class='zero', left out under
    'skip' (None for a level with no class left)."""
    import numpy as np

    from granzsl_mm.proving_ground.pipeline import _level_chance
    meta = dict(classes=['s', 'u1', 'u2', 'u3'], unseen_classes=['u1', 'u2',
                                                                 'u3'],
                class_levels=[0, 0, 0, 1])
    # 4 images; u1: 1 positive of 4, u2 and u3: none
    targets = np.array([[1, 1, 0, 0], [1, 0, 0, 0], [0, 0, 0, 0],
                        [1, 0, 0, 0]])
    names = ['coarse', 'fine']
    zero = _level_chance(targets, 1, meta, dict(empty_class='zero'), names)
    skip = _level_chance(targets, 1, meta, dict(empty_class='skip'), names)
    # one positive among 4 random-ranked images: E[AP] = H_4 / 4
    one = 100.0 * (1 + 1 / 2 + 1 / 3 + 1 / 4) / 4
    assert zero == pytest.approx(dict(coarse=one / 2, fine=0.0))
    assert skip['coarse'] == pytest.approx(one) and skip['fine'] is None
