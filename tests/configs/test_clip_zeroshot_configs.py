"""CLIP zero-shot configs: paper-scale values, tiny builds, a demo test run."""
import json
import os.path as osp
import pickle

import pytest
import torch
from mmengine.config import Config

from granzsl_mm import register_all_modules
from granzsl_mm.registry import MODELS
from tests.fixtures.tiny_override import tiny_override

ROOT = osp.join(osp.dirname(__file__), '..', '..')
SHARED_COCO = osp.join(ROOT, '..', 'shared', 'data', 'coco')


def _load(name):
    return Config.fromfile(osp.join(ROOT, 'configs', name))


def test_coco_config_matches_the_papers_split():
    cfg = _load('clip_zeroshot_coco.py')
    m = cfg.model
    assert m.type == 'ZeroShotMultiLabelClassifier'
    assert (m.backbone.arch, m.backbone.pretrained) == ('ViT-B-16', 'openai')
    assert m.score_act == 'none' and m.vocabulary == 'all'
    assert len(m.class_names) == 65 and m.num_seen_classes == 48
    assert cfg.test_evaluator.type == 'ZSLMultiLabelMetric'
    if not osp.isdir(SHARED_COCO):
        pytest.skip('reference COCO split files absent')
    with open(osp.join(SHARED_COCO, 'cls_ids.pickle'), 'rb') as f:
        split = pickle.load(f)
    with open(osp.join(SHARED_COCO, 'categories.json')) as f:
        cats = [c['name'] for c in sorted(json.load(f), key=lambda c: c['id'])]
    assert m.class_names[:48] == [cats[i] for i in sorted(split['train'])]
    assert m.class_names[48:] == [cats[i] for i in sorted(split['test'])]


@pytest.mark.parametrize('name', ['clip_zeroshot_coco.py',
                                  'clip_zeroshot_nuswide.py',
                                  'clip_zeroshot_demo.py'])
def test_tiny_builds_score_all_classes(name, tmp_path):
    register_all_modules()
    cfg = tiny_override(_load(name))
    split = tmp_path / 'split.json'
    split.write_text(json.dumps(dict(seen=['a', 'b', 'c'], unseen=['d'])))
    if not isinstance(cfg.model.class_names, list):
        cfg.model.class_names = str(split)  # nuswide / demo read split files
    model = MODELS.build(cfg.model).eval()
    num = len(model.class_names)
    x = [torch.randint(0, 256, (3, 32, 32), dtype=torch.uint8)
         for _ in range(2)]
    samples = model.test_step(dict(inputs=x))
    assert samples[0].pred_score.shape == (num, )
    assert samples[0].pred_score_zsl.shape == (num - model.num_seen_classes, )


def test_demo_config_evaluates_zsl_and_gzsl_in_one_pass(tmp_path,
                                                         small_demo_world):
    from granzsl_mm.engine import build_runner
    register_all_modules()
    cfg = tiny_override(_load('clip_zeroshot_demo.py'),
                        work_dir=str(tmp_path))
    cfg.model.class_names = osp.join(small_demo_world, 'split.json')
    cfg.test_dataloader.dataset.data_root = small_demo_world
    cfg.test_dataloader.dataset.indices = 8
    metrics = build_runner(cfg).test()
    assert {'zsl/mAP', 'gzsl/mAP'} <= set(metrics)
    assert 0 <= metrics['zsl/mAP'] <= 100
