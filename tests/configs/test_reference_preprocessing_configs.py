"""What the paper configs changed to follow their references, the
demo configs pinned to their earlier behaviour, and the select-on-test
config reproducing RCNn's model selection."""
import glob
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmpretrain.structures import DataSample

from granzsl_mm import register_all_modules
from granzsl_mm.registry import METRICS, MODELS

ROOT = osp.join(osp.dirname(__file__), '..', '..')
GRANZSL_PAPER = sorted(
    osp.basename(p) for p in glob.glob(osp.join(ROOT, 'configs', 'granzsl_*.py'))
    if 'demo' not in osp.basename(p))
GRANZSL_DEMO = sorted(
    osp.basename(p) for p in glob.glob(osp.join(ROOT, 'configs',
                                                 'granzsl_demo*.py')))


def _load(name):
    return Config.fromfile(osp.join(ROOT, 'configs', name))


def _resize(pipeline):
    (step, ) = [t for t in pipeline if t['type'] == 'Resize']
    return step


def test_leaves_found():
    assert 'granzsl_coco.py' in GRANZSL_PAPER and len(GRANZSL_PAPER) >= 10
    assert 'granzsl_demo.py' in GRANZSL_DEMO


@pytest.mark.parametrize('name', GRANZSL_PAPER)
def test_granzsl_paper_configs_follow_rcnn(name):
    cfg = _load(name)
    test = _resize(cfg.test_dataloader.dataset.pipeline)
    assert (test['interpolation'], test['backend']) == ('bilinear', 'pillow')
    assert test['scale'] == (224, 224)
    assert _resize(cfg.tta_pipeline) == test
    assert cfg.tta_model.snippet_resize == 'bilinear'
    assert cfg.train_dataloader.dataset.dedupe is False
    assert cfg.optim_wrapper.type == 'AmpIfCudaOptimWrapper'
    if cfg.get('val_dataloader'):
        assert _resize(cfg.val_dataloader.dataset.pipeline) == test


@pytest.mark.parametrize('name', GRANZSL_DEMO)
def test_demo_configs_keep_their_earlier_behaviour(name):
    cfg = _load(name)
    assert _resize(cfg.test_dataloader.dataset.pipeline)['interpolation'] \
        == 'bicubic'
    assert cfg.tta_model.snippet_resize == 'bicubic'
    assert cfg.train_dataloader.dataset.dedupe is True
    assert cfg.optim_wrapper.type == 'OptimWrapper'


@pytest.mark.parametrize('name', ['mkt_coco.py', 'mkt_nuswide.py',
                                  'sigrl_coco.py', 'sigrl_nuswide.py'])
def test_mkt_sigrl_prompt_has_no_period(name):
    assert _load(name).model.template == 'There is a {} in the scene'


def test_mkt_default_prompt_has_no_period():
    import inspect

    from granzsl_mm.models.classifiers.mkt import MKT
    default = inspect.signature(MKT).parameters['template'].default
    assert default == 'There is a {} in the scene'


def test_demo_prompts_unchanged():
    assert _load('mkt_demo.py').model.template == 'a picture of a {}.'
    assert _load('sigrl_demo.py').model.template == 'a picture of a {}.'


def test_select_on_test_is_rcnn_selection():
    cfg = _load('granzsl_coco_select_on_test.py')
    base = _load('granzsl_coco.py')
    m = cfg.model
    assert m.type == 'GranZSLSnippetVal' and m.select_on_test
    assert tuple(m.val_grids) == (2, 3) and m.val_snippet_resize == 'bilinear'
    # the test set, its snippets cut from the original image as RCNn's
    val = dict(cfg.val_dataloader.dataset)
    pipeline = val.pop('pipeline')
    test = dict(base.test_dataloader.dataset)
    test_pipeline = test.pop('pipeline')
    assert val == test
    assert pipeline[0] == test_pipeline[0]  # LoadImageFromFile
    assert pipeline[1] == dict(type='CutSnippets', grids=(2, 3), size=224)
    assert pipeline[2:-1] == test_pipeline[1:-1]  # the bilinear full view
    assert pipeline[-1] == dict(type='PackInputs',
                                algorithm_keys=['snippets'])
    assert m.val_snippet_source == 'pipeline'
    assert cfg.tta_model.snippet_source == 'pipeline'
    assert cfg.tta_pipeline == pipeline
    assert base.tta_model.get('snippet_source', 'batch') == 'batch'
    ev = cfg.val_evaluator
    assert (ev.type, tuple(ev.topk), ev.drop_empty_images, ev.ties) == (
        'ZSLMultiLabelMetric', (3, 5), True, 'stable')
    ck = cfg.default_hooks.checkpoint
    assert ck.interval == 1 and ck.rule == 'greater'
    assert ck.type == 'AtomicCheckpointHook' and ck.best_above == 0.0
    assert list(ck.save_best) == ['selected-on-test/zsl/F1@3',
                                  'selected-on-test/gzsl/F1@3']
    assert cfg.train_cfg.val_interval == 1
    header = open(osp.join(ROOT, 'configs',
                           'granzsl_coco_select_on_test.py')).read(400)
    assert 'SELECTS THE CHECKPOINT ON THE TEST SET' in header


def test_select_on_test_keys_are_metric_keys():
    """The two save_best keys are keys the configured metric emits."""
    register_all_modules()
    cfg = _load('granzsl_coco_select_on_test.py')
    metric = METRICS.build(cfg.val_evaluator)
    metric.dataset_meta = dict(classes=['a', 'b', 'c', 'd'],
                               seen_classes=['a', 'b'],
                               unseen_classes=['c', 'd'])
    samples = []
    for score, label in [([.9, .1, .5, .3], [1, 0, 1, 0]),
                         ([.2, .8, .3, .7], [0, 0, 0, 1]),
                         ([.5, .5, .1, .2], [0, 1, 0, 0])]:
        s = DataSample().set_gt_score(torch.tensor(label).float())
        s.set_pred_score(torch.tensor(score))
        s.set_field(torch.tensor(score[2:]), 'pred_score_zsl')
        samples.append(s.to_dict())
    metric.process(None, samples)
    keys = metric.evaluate(3)
    assert set(cfg.default_hooks.checkpoint.save_best) <= set(keys)


def test_snippet_val_model_validates_with_snippets():
    from tests.fixtures.tiny_granzsl import build_tiny_granzsl
    model = build_tiny_granzsl(type='GranZSLSnippetVal', val_grids=(2, ),
                               val_snippet_resize='bilinear')
    ref = build_tiny_granzsl()
    assert model.state_dict().keys() == ref.state_dict().keys()
    g = torch.Generator().manual_seed(1)
    imgs = [torch.randint(0, 256, (3, 32, 32), generator=g,
                          dtype=torch.uint8) for _ in range(2)]

    def data():
        return dict(inputs=list(imgs),
                    data_samples=[DataSample() for _ in imgs])

    tta = MODELS.build(dict(type='SnippetTTAModel', module=ref, grids=(2, ),
                            snippet_resize='bilinear'))
    want = torch.stack([s.pred_score for s in tta.test_step(data())])
    got = torch.stack([s.pred_score for s in model.val_step(data())])
    torch.testing.assert_close(got, want)
    plain = torch.stack([s.pred_score for s in model.test_step(data())])
    assert not torch.allclose(plain, got)  # test_step stays plain
    with pytest.raises(ValueError, match='val_snippet_resize'):
        build_tiny_granzsl(type='GranZSLSnippetVal', val_snippet_resize='x')


@pytest.mark.slow
def test_select_on_test_tiny_run(tmp_path, small_demo_world):
    """One epoch on the small world: snippet validation on the test images
    writes both best checkpoints."""
    from mmengine.runner import Runner

    from tests.fixtures.tiny_override import tiny_override
    register_all_modules()
    world = small_demo_world
    cfg = _load('granzsl_coco_select_on_test.py')
    tiny_override(
        cfg, data_root=world, work_dir=str(tmp_path / 'work'), num_samples=8,
        batch_size=4,
        paths=dict(description_file=osp.join(world, 'descriptions.json'),
                   split_file={'train_dataloader': osp.join(world,
                                                            'split.json'),
                               'val_dataloader': 'split.json'},
                   ann_file={'val_dataloader':
                             'annotations/instances_test.json'},
                   data_prefix={'val_dataloader': dict(img_path='images')}),
        extra={'model.num_classes': 26, 'model.num_seen_classes': 21,
               'val_dataloader.dataset.indices': 8})
    cfg.test_dataloader = cfg.test_cfg = cfg.test_evaluator = None
    runner = Runner.from_cfg(cfg)
    runner.train()
    names = sorted(osp.basename(p) for p in glob.glob(
        osp.join(str(tmp_path / 'work'), 'best_*.pth')))
    assert len(names) == 2, names
    assert any('zsl_F1@3' in n and 'gzsl' not in n for n in names)
    assert any('gzsl_F1@3' in n for n in names)
