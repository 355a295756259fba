"""TagCLIP configs: the reference's settings, tiny builds that score."""
import os.path as osp

import pytest
import torch
from mmengine.config import Config

from granzsl_mm import register_all_modules
from granzsl_mm.registry import MODELS
from granzsl_mm.structures import read_class_names
from granzsl_mm.structures.class_lists import BACKGROUND_WORDS
from granzsl_mm.structures.prompts import TEMPLATE_SETS
from tests.fixtures.tiny_override import tiny_override

ROOT = osp.join(osp.dirname(__file__), '..', '..')


def _load(name):
    return Config.fromfile(osp.join(ROOT, 'configs', name))


@pytest.mark.parametrize('name,num,background', [
    ('tagclip_coco.py', 80, 'coco'), ('tagclip_voc.py', 20, 'voc')])
def test_configs_follow_the_reference(name, num, background):
    cfg = _load(name)
    m = cfg.model
    assert (m.score_mode, m.templates, m.tagclip.background) == (
        'tagclip', 'tagclip_85', background)
    assert len(TEMPLATE_SETS['tagclip_85']) == 85
    assert (m.backbone.arch, m.backbone.pretrained) == ('ViT-B-16', 'openai')
    names, _ = read_class_names(m.class_names)
    assert len(names) == num
    assert ('motorbike' in names) and ('tvmonitor' in names)
    assert cfg.test_dataloader.batch_size == 1
    assert cfg.test_pipeline[1] == dict(type='ResizeToPatchMultiple',
                                        patch_size=16,
                                        interpolation='bicubic')
    assert cfg.test_dataloader.dataset.pipeline == cfg.test_pipeline
    assert len(BACKGROUND_WORDS[background]) == {'coco': 23, 'voc': 25}[
        background]


def test_voc_config_reads_voc2007_test():
    ds = _load('tagclip_voc.py').test_dataloader.dataset
    assert (ds.type, ds.split, ds.empty_images) == ('VOCMultiLabelDataset',
                                                    'test', 'keep')
    assert ds.data_root.endswith('VOC2007')


@pytest.mark.parametrize('name', ['tagclip_coco.py', 'tagclip_voc.py',
                                  'tagclip_demo.py'])
def test_tiny_builds_score(name, tmp_path):
    register_all_modules()
    cfg = tiny_override(_load(name))
    cfg.model.templates = 'single'  # 85 x 105 prompts: slow, not the point
    if name == 'tagclip_demo.py':
        split = tmp_path / 'split.json'
        split.write_text('{"seen": ["a", "b", "c"], "unseen": ["d", "e"]}')
        cfg.model.class_names = str(split)
    model = MODELS.build(cfg.model).eval()
    x = [torch.randint(0, 256, (3, 32, 48), dtype=torch.uint8)
         for _ in range(1)]
    sample = model.test_step(dict(inputs=x))[0]
    num = len(model.class_names)
    assert sample.pred_score.shape == (num, )
    assert torch.isfinite(sample.pred_score).all()
    assert ((sample.pred_score >= 0) & (sample.pred_score <= 1)).all()
    if name == 'tagclip_demo.py':
        assert sample.pred_score_zsl.shape == (2, )


@pytest.mark.slow
def test_demo_prints_zsl_and_gzsl(tmp_path, small_demo_world, capsys):
    from tests.fixtures.run_tools import run_tool
    cfg = tiny_override(_load('tagclip_demo.py'), work_dir=str(tmp_path))
    cfg.model.class_names = osp.join(small_demo_world, 'split.json')
    cfg.test_dataloader.dataset.data_root = small_demo_world
    cfg.test_dataloader.dataset.indices = 8
    path = tmp_path / 'tagclip_demo_tiny.py'
    cfg.dump(str(path))
    run_tool('tools/test.py', [str(path), 'none'])  # non-zero: SystemExit
    captured = capsys.readouterr()
    out = captured.out + captured.err
    assert 'zsl/mAP' in out and 'gzsl/mAP' in out
