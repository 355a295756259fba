"""Recover-and-Match configs: the reference's recipe, tiny builds, and the
demo run through tools/train.py and tools/test.py."""
import glob
import os.path as osp

import pytest
import torch
from mmengine.config import Config

from granzsl_mm import register_all_modules
from granzsl_mm.registry import MODELS
from tests.fixtures.tiny_override import tiny_override

ROOT = osp.join(osp.dirname(__file__), '..', '..')

# EricTan7/RAM @ f2073f9: configs/coco.yml, configs/nus.yml and, where they
# are silent, config/defaults.py.
RECIPE = {
    'recover_match_coco.py': dict(
        adapter_blocks=(9, 10, 11), text_prompt_blocks=(9, 10, 11),
        local_temperature=2e-3),
    'recover_match_nuswide.py': dict(
        adapter_blocks=(9, 10, 11), text_prompt_blocks=(6, 7, 8, 9, 10, 11),
        local_temperature=2e-4),
}
SHARED = dict(num_adapter_tokens=8, num_text_prompts=4, kernel_size=3,
              ot_reg=0.1, ot_reg_knowledge=0.05, marginal_temperature=0.1,
              teacher_sharpness=20.0, sinkhorn_iters=100,
              sinkhorn_thresh=1e-3, template='a photo of a {}.')


def _load(name):
    return Config.fromfile(osp.join(ROOT, 'configs', name))


@pytest.mark.parametrize('name', sorted(RECIPE))
def test_configs_follow_the_reference_recipe(name):
    cfg = _load(name)
    m = cfg.model
    for key, want in {**SHARED, **RECIPE[name]}.items():
        got = m[key]
        assert (tuple(got) if isinstance(got, list) else got) == want, key
    assert (m.backbone.arch, m.backbone.pretrained, m.backbone.frozen) == (
        'ViT-B-16', 'openai', True)
    assert m.data_preprocessor.mean == [127.5] * 3  # PIXEL_MEAN 0.5
    assert m.loss.type == 'MultiMatchingLoss'
    # solver/make_optimizer.py: AdamW (adapters 0.1 x) + SGD for the tokens
    opt = cfg.optim_wrapper
    assert opt.constructor == 'ParamSplitOptimWrapperConstructor'
    adamw, sgd = opt.adamw.optimizer, opt.sgd.optimizer
    assert (adamw.type, adamw.lr, adamw.weight_decay) == ('AdamW', 5e-5, 1e-4)
    assert opt.adamw.paramwise_cfg.custom_keys['adapters.'].lr_mult == 0.1
    assert (sgd.type, sgd.lr, sgd.momentum, sgd.weight_decay) == (
        'SGD', 1e-3, 0.9, 1e-4)
    assert tuple(opt.sgd.params) == ('adapter_tokens.', 'text_prompts.')
    assert [s.type for s in cfg.param_scheduler] == ['TimmCosineLR']
    assert cfg.train_dataloader.batch_size == 32
    assert cfg.train_cfg.max_epochs == 6


def _tiny_model(cfg, names):
    register_all_modules()
    cfg = tiny_override(cfg)
    cfg.model.class_names = names
    cfg.model.adapter_blocks = (1, )
    cfg.model.text_prompt_blocks = (1, )
    return MODELS.build(cfg.model).eval()


@pytest.mark.parametrize('name', ['recover_match_coco.py',
                                  'recover_match_nuswide.py',
                                  'recover_match_demo.py'])
def test_tiny_builds_score(name):
    cfg = _load(name)
    seen, total = cfg.model.num_seen_classes, cfg.model.num_classes
    if name == 'recover_match_nuswide.py':  # 1006 prompts: shrink the sets
        cfg.model.num_classes, cfg.model.num_seen_classes = 8, 6
        seen, total = 6, 8
    names = [f'thing{i}' for i in range(total)]
    model = _tiny_model(cfg, names)
    x = [torch.randint(0, 256, (3, 32, 32), dtype=torch.uint8)]
    sample = model.test_step(dict(inputs=x))[0]
    assert sample.pred_score.shape == (total, )
    assert sample.pred_score_zsl.shape == (total - seen, )
    assert torch.isfinite(sample.pred_score).all()


@pytest.mark.slow
def test_demo_trains_and_tests(tmp_path, small_demo_world, capsys):
    from tests.fixtures.run_tools import run_tool
    cfg = tiny_override(_load('recover_match_demo.py'),
                        data_root=small_demo_world, work_dir=str(tmp_path),
                        batch_size=8, num_samples=16, max_epochs=1)
    cfg.model.class_names = osp.join(small_demo_world, 'split.json')
    cfg.model.save_frozen_weights = True  # the random tower travels along
    cfg.test_dataloader.dataset.indices = 8
    # 2 iterations: no room for the quarter-epoch warm-up
    cfg.param_scheduler = [dict(type='ConstantLR', factor=1.0, by_epoch=True,
                                begin=0, end=1)]
    path = tmp_path / 'recover_match_demo_tiny.py'
    cfg.dump(str(path))
    run_tool('tools/train.py', [str(path)])
    ckpt = sorted(glob.glob(str(tmp_path / 'epoch_*.pth')))[-1]
    run_tool('tools/test.py', [str(path), ckpt])
    out = capsys.readouterr()
    text = out.out + out.err
    assert 'zsl/mAP' in text and 'gzsl/mAP' in text
