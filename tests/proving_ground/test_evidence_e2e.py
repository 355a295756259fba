"""Learning checked on images over several small worlds (one test, a few
minutes on 2 CPU cores): the proving ground's runner as ``make evidence``
calls it (``tools/run_demo.py --world v2 --seeds N``) on 3 small worlds of
the evidence world, each with its own tiny CLIP; asserted are only effects
that held on every seed of such a run (measured with these settings, see
docs/demo.md), never one seed's number. A second call reuses every cached
stage."""
import json
import os.path as osp

import pytest
import torch

ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))
SMALL = dict(num_train=800, num_test=150, num_val=100,
             pretrain_iters=100, granzsl_epochs=3)
FULL = 'GranZSL, snippets'
PROMPTS = 'CLIP zero-shot, prompts, global + local score'
TAGCLIP = 'CLIP zero-shot, prompts, TagCLIP score'


@pytest.mark.slow
def test_small_multi_seed_run_effects_hold_on_every_seed(tmp_path,
                                                         monkeypatch):
    from granzsl_mm.proving_ground import pipeline
    threads = torch.get_num_threads()
    try:
        ev = pipeline.run_proving_ground(
            work_dir=str(tmp_path / 'work'), data_root=str(tmp_path / 'data'),
            world='v2', seeds=3, configs_dir=osp.join(ROOT, 'configs'),
            ablations=False, image_methods=False, caption_methods=False,
            sigmoid_tower=False, num_threads=1, progress=False, **SMALL)
    finally:
        torch.set_num_threads(threads)
    assert ev['seeds'] == [0, 1, 2]
    methods = ev['methods']
    # TagCLIP's training-free row beside the prompts, compared to them
    assert f'{TAGCLIP} - {PROMPTS}' in ev['comparisons']
    chance = [c['zsl_mAP'] for c in ev['chance']]
    assert len(set(round(c, 6) for c in chance)) == 3  # three worlds
    for name in (PROMPTS, FULL):
        ratios = methods[name]['zsl_mAP']['x_chance']['values']
        assert min(ratios) > 1.2, (name, ratios)  # transfer on every world
    # GranZSL's learned names above the prompts on GZSL, on every seed
    gain = ev['comparisons'][f'{FULL} - {PROMPTS}']['gzsl_mAP']
    assert gain['every_seed'] == 'higher', gain
    # the choices were made on the validation images
    for sel in ev['selected'][FULL]:
        assert 1 <= sel['epoch'] <= SMALL['granzsl_epochs']
    with open(tmp_path / 'work' / 'seed_1' / 'results.json') as f:
        seed1 = json.load(f)
    assert seed1['info']['seeds']['pretrain'] == 2001
    assert seed1['info']['unseen_per_level'] == {
        'colour group': 3, 'colour shape': 8, 'size colour shape': 19}

    # each world's tiny CLIP is a plain open_clip checkpoint
    from granzsl_mm.models.backbones import OpenCLIPBackbone
    ckpt = seed1['info']['checkpoint']
    state = torch.load(ckpt, map_location='cpu', weights_only=True)
    backbone = OpenCLIPBackbone(arch='TinyCLIP-world', pretrained=ckpt)
    for key, value in backbone.clip.state_dict().items():
        torch.testing.assert_close(value, state[key])

    # resumable: every stage comes from the cache the second time
    def boom(*args, **kwargs):
        raise AssertionError('a cached stage ran again')
    monkeypatch.setattr(pipeline, 'train_and_test_granzsl', boom)
    monkeypatch.setattr(pipeline, 'clip_zero_shot', boom)
    monkeypatch.setattr(pipeline, 'tagclip_zero_shot', boom)
    again = pipeline.run_proving_ground(
        work_dir=str(tmp_path / 'work'), data_root=str(tmp_path / 'data'),
        world='v2', seeds=3, configs_dir=osp.join(ROOT, 'configs'),
        ablations=False, image_methods=False, caption_methods=False,
        sigmoid_tower=False, num_threads=1, progress=False, **SMALL)
    assert again['methods'] == ev['methods']
    # each world's own report beside its record
    assert (tmp_path / 'work' / 'seed_1' / 'results.md').is_file()

