"""The stages of a world run, MKT and SigRL: ``configs/mkt_demo.py`` and
``configs/sigrl_demo.py`` train a few iterations on a small world (mmengine
Runner) and are tested under the results table's protocol and under their
own (every image scored); with a validation split the learning rate and
the epoch are chosen on it."""
import json
import os.path as osp

import numpy as np
import pytest
import torch

from granzsl_mm.utils import safe_torch_load

ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))
TABLE = dict(empty_class='zero', drop_empty_images=True)  # granzsl_demo's


@pytest.fixture(scope='module')
def small_world(tmp_path_factory):
    """A small world and a random TinyCLIP-world checkpoint (no
    pre-training: this checks the plumbing, the learning test checks
    transfer)."""
    from granzsl_mm.models.backbones import OpenCLIPBackbone
    from granzsl_mm.proving_ground import build_synthetic_world
    root = tmp_path_factory.mktemp('image_methods')
    data = str(root / 'world')
    meta = build_synthetic_world(data, num_train=256, num_test=48, seed=1)
    torch.manual_seed(0)
    clip = OpenCLIPBackbone(arch='TinyCLIP-world', pretrained='random').clip
    ckpt = str(root / 'tiny_clip.pt')
    torch.save(clip.state_dict(), ckpt)
    return data, meta, ckpt, root


def test_image_model_config_points_at_the_world(small_world, tmp_path):
    from granzsl_mm.proving_ground import stages
    data, meta, ckpt, _ = small_world
    for fname, model_type in (('mkt_demo.py', 'MKT'),
                              ('sigrl_demo.py', 'SigRL')):
        cfg = stages.image_model_config(osp.join(ROOT, 'configs', fname), data,
                                    ckpt, meta, max_epochs=3,
                                    protocol=TABLE)
        m = cfg.model
        assert m.type == model_type
        assert (m.backbone.arch, m.backbone.pretrained) == ('TinyCLIP-world',
                                                            ckpt)
        assert m.backbone.trainable_blocks_from == 1  # of 2 blocks
        assert (m.num_classes, m.num_seen_classes) == (26, 21)
        assert m.template == 'a picture of a {}.'
        train, test = cfg.train_dataloader.dataset, cfg.test_dataloader.dataset
        assert (train.data_root, test.data_root) == (data, data)
        assert (train.label_set, train.empty_images) == ('seen', 'drop')
        assert train.ann_file.endswith('instances_train.json')
        assert test.label_set == 'all'
        assert cfg.test_evaluator.drop_empty_images is True
        assert cfg.train_cfg.max_epochs == 3
        cosine = [s for s in cfg.param_scheduler
                  if s.type == 'CosineAnnealingLR'][0]
        assert cosine.end == 3
        # the config itself keeps the papers' protocol (every image scored)
        own = stages.image_model_config(osp.join(ROOT, 'configs', fname), data,
                                    ckpt, meta)
        assert own.test_evaluator.drop_empty_images is False
    with pytest.raises(ValueError, match='max_epochs'):
        stages.image_model_config(osp.join(ROOT, 'configs', 'mkt_demo.py'),
                                  data, ckpt, meta, max_epochs=0)
    # a grid is chosen from on validation images only; an empty one is none
    for lrs, validate, match in (([1e-3, 2e-2], False, 'validation'),
                                 ([], True, 'empty')):
        with pytest.raises(ValueError, match=match):
            stages.train_and_test_image_model(
                osp.join(ROOT, 'configs', 'mkt_demo.py'), data, ckpt, meta,
                str(tmp_path), TABLE, lrs=lrs, validate=validate)


@pytest.mark.slow
@pytest.mark.parametrize('fname', ['mkt_demo.py', 'sigrl_demo.py'])
def test_train_and_test_on_a_small_world(small_world, fname):
    from granzsl_mm.proving_ground import stages
    data, meta, ckpt, root = small_world
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        work = str(root / osp.splitext(fname)[0])
        res = stages.train_and_test_image_model(
            osp.join(ROOT, 'configs', fname), data, ckpt, meta, work, TABLE,
            max_epochs=1)
    finally:
        torch.set_num_threads(threads)
    assert set(res) == {'table', 'own'}
    # the table's mAP is the mean of the per-class APs its report lists
    with open(osp.join(work, 'test_table', 'reports',
                       'per_class_ap.json')) as f:
        rows = json.load(f)['per_class']
    for label_set in ('zsl', 'gzsl'):
        aps = [r['AP'] for r in rows if r['label_set'] == label_set
               and r['AP'] is not None and r['AP'] == r['AP']]
        assert aps and res['table'][f'{label_set}/mAP'] == pytest.approx(
            sum(aps) / len(aps), abs=1e-4)
    # every test image holds an object: GZSL is the same in both protocols;
    # ZSL under the table's drops the images without an unseen object
    assert res['table']['gzsl/mAP'] == pytest.approx(res['own']['gzsl/mAP'])
    with open(osp.join(data, 'annotations', 'instances_test.json')) as f:
        test = json.load(f)
    assert len(test['images']) == 48

    # training moved the last vision block, nothing below it, not the text
    state = safe_torch_load(osp.join(work, 'epoch_1.pth'),
                            map_location='cpu')['state_dict']
    init = torch.load(ckpt, map_location='cpu', weights_only=True)
    prefix = 'backbone.clip.'
    moved = [k for k in init if k.startswith('visual.transformer.resblocks.1')
             and not torch.equal(state[prefix + k], init[k])]
    assert moved
    for key in init:
        if key.startswith('visual.transformer.resblocks.0') or (
                not key.startswith('visual.')):
            assert torch.equal(state[prefix + key], init[key]), key


@pytest.mark.slow
def test_choices_are_made_on_the_validation_images(tmp_path):
    """A world with a validation split: one run per learning rate of the
    grid, every epoch scored on the validation images, the best tested."""
    from granzsl_mm.models.backbones import OpenCLIPBackbone
    from granzsl_mm.proving_ground import DEFAULT_WORLD, build_synthetic_world, stages
    data = str(tmp_path / 'world')
    meta = build_synthetic_world(data, num_train=256, num_test=32, seed=2,
                                 num_val=32, val_seed=1002)
    torch.manual_seed(1)
    ckpt = str(tmp_path / 'tiny_clip.pt')
    torch.save(OpenCLIPBackbone(arch='TinyCLIP-world',
                                pretrained='random').clip.state_dict(), ckpt)
    work = str(tmp_path / 'mkt')
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        res = stages.train_and_test_image_model(
            osp.join(ROOT, 'configs', 'mkt_demo.py'), data, ckpt, meta, work,
            TABLE, seed=4000, lrs=[1e-3, 2e-2], max_epochs=2, validate=True,
            level_names=list(DEFAULT_WORLD.levels))
    finally:
        torch.set_num_threads(threads)
    sel = res['selected']
    assert [(c['lr'], c['epoch']) for c in sel['val']] == [
        (1e-3, 1), (1e-3, 2), (2e-2, 1), (2e-2, 2)]
    for c in sel['val']:
        assert c['score'] == pytest.approx(0.5 * (c['zsl'] + c['gzsl']))
    best = sel['val'][int(np.argmax([c['score'] for c in sel['val']]))]
    assert (sel['lr'], sel['epoch']) == (best['lr'], best['epoch'])
    for lr in ('0.001', '0.02'):  # a checkpoint per epoch of each rate
        for epoch in (1, 2):
            assert osp.isfile(osp.join(work, f'lr_{lr}', f'epoch_{epoch}.pth'))
    # the first world's unseen classes are all fine: their mean AP is the
    # ZSL mAP of the table's protocol (every unseen class counted)
    assert res['levels']['table'] == {
        'colour shape': pytest.approx(res['table']['zsl/mAP'])}


def test_comparator_configs_point_at_the_world(small_world):
    """DualCoOp and Recover-and-Match run as the image methods do; TagCLIP
    is the prompt baseline with TagCLIP's score settings."""
    from mmengine.config import Config

    from granzsl_mm.proving_ground import stages
    data, meta, ckpt, _ = small_world
    for fname, model_type in (('dualcoop_demo.py', 'DualCoOp'),
                              ('recover_match_demo.py', 'RecoverMatch')):
        cfg = stages.image_model_config(osp.join(ROOT, 'configs', fname),
                                        data, ckpt, meta, max_epochs=3,
                                        protocol=TABLE)
        m = cfg.model
        assert m.type == model_type
        assert (m.backbone.arch, m.backbone.pretrained) == ('TinyCLIP-world',
                                                            ckpt)
        assert (m.num_classes, m.num_seen_classes) == (26, 21)
        assert m.class_names == osp.join(data, 'split.json')
        train = cfg.train_dataloader.dataset
        assert (train.data_root, train.label_set) == (data, 'seen')
        assert cfg.test_dataloader.dataset.data_root == data
        assert cfg.test_evaluator.drop_empty_images is True
        assert cfg.train_cfg.max_epochs == 3
    demo = stages.demo_config(osp.join(ROOT, 'configs', 'granzsl_demo.py'),
                              data, ckpt, meta)
    tag_file = osp.join(ROOT, 'configs', 'tagclip_demo.py')
    cfg = stages.tagclip_config(demo, meta, tag_file)
    m, own = cfg.model, Config.fromfile(tag_file).model
    assert m.type == 'ZeroShotMultiLabelClassifier'
    assert (m.score_mode, m.logit_scale) == ('tagclip', own.logit_scale)
    assert m.tagclip == own.tagclip
    # the prompt baselines' world, tower and prompts; nothing trains
    assert m.templates == stages.DEMO_TEMPLATES
    assert m.class_names == meta['classes'] and m.num_seen_classes == 21
    assert m.backbone.pretrained == ckpt
    assert cfg.train_dataloader is None and cfg.load_from is None
    assert cfg.test_dataloader.dataset.data_root == data


@pytest.mark.slow
def test_comparators_choose_on_validation_and_tagclip_scores(tmp_path):
    """DualCoOp and Recover-and-Match: the rate of the grid set, the epoch
    chosen on the validation images, tested; TagCLIP's stage tested with
    nothing to choose."""
    from granzsl_mm.models.backbones import OpenCLIPBackbone
    from granzsl_mm.proving_ground import DEFAULT_WORLD, build_synthetic_world, stages
    data = str(tmp_path / 'world')
    meta = build_synthetic_world(data, num_train=128, num_test=32, seed=3,
                                 num_val=32, val_seed=1003, progress=False)
    torch.manual_seed(2)
    ckpt = str(tmp_path / 'tiny_clip.pt')
    torch.save(OpenCLIPBackbone(arch='TinyCLIP-world',
                                pretrained='random').clip.state_dict(), ckpt)
    levels = list(DEFAULT_WORLD.levels)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        # one rate each (time; choosing among several:
        # test_choices_are_made_on_the_validation_images)
        for fname, lrs in (('dualcoop_demo.py', [2e-5]),
                           ('recover_match_demo.py', [2e-4])):
            work = str(tmp_path / fname)
            res = stages.train_and_test_image_model(
                osp.join(ROOT, 'configs', fname), data, ckpt, meta, work,
                TABLE, seed=6000, lrs=lrs, max_epochs=1, validate=True,
                level_names=levels)
            sel = res['selected']
            assert [(c['lr'], c['epoch']) for c in sel['val']] == [
                (lr, 1) for lr in lrs]
            assert osp.isfile(osp.join(work, f'lr_{lrs[0]:g}', 'epoch_1.pth'))
            best = sel['val'][int(np.argmax([c['score']
                                             for c in sel['val']]))]
            assert (sel['lr'], sel['epoch']) == (best['lr'], best['epoch'])
            assert res['levels']['table'] == {
                'colour shape': pytest.approx(res['table']['zsl/mAP'])}
        demo = stages.demo_config(osp.join(ROOT, 'configs', 'granzsl_demo.py'),
                                  data, ckpt, meta)
        work = str(tmp_path / 'tagclip')
        metrics = stages.tagclip_zero_shot(
            demo, meta, work, osp.join(ROOT, 'configs', 'tagclip_demo.py'))
    finally:
        torch.set_num_threads(threads)
    # its mAPs are the means of the per-class APs its report lists (a class
    # without positives, no AP in the report, counts 0: the table's
    # empty_class='zero')
    with open(osp.join(work, 'reports', 'per_class_ap.json')) as f:
        rows = json.load(f)['per_class']
    for label_set, count in (('zsl', 5), ('gzsl', 26)):
        aps = [r['AP'] if r['AP'] is not None and r['AP'] == r['AP'] else 0.0
               for r in rows if r['label_set'] == label_set]
        assert len(aps) == count and metrics[f'{label_set}/mAP'] == \
            pytest.approx(sum(aps) / count, abs=1e-4)


def test_per_level_ap_counts_an_unseen_class_without_positives(tmp_path):
    """A tiny world may draw no test image of an unseen class: its report
    lists no AP (None). Under the table's ``empty_class='zero'`` it counts
    0 in its level's mean, as in the ZSL mAP; under ``'skip'`` it is left
    out, and a level whose classes are all empty has no value (None)."""
    from granzsl_mm.proving_ground import stages
    rows = [dict(label_set='zsl', split='unseen', level=0, AP=40.0),
            dict(label_set='zsl', split='unseen', level=0, AP=None),
            dict(label_set='zsl', split='unseen', level=1, AP=None),
            dict(label_set='zsl', split='unseen', level=2, AP=30.0),
            dict(label_set='gzsl', split='unseen', level=1, AP=10.0),
            dict(label_set='gzsl', split='seen', level=0, AP=90.0)]
    (tmp_path / 'per_class_ap.json').write_text(json.dumps(
        dict(per_class=rows)))
    names = ['coarse', 'middle', 'fine']
    assert stages.per_level_ap(str(tmp_path), names) == dict(
        coarse=20.0, middle=0.0, fine=30.0)
    assert stages.per_level_ap(str(tmp_path), names,
                               empty_class='skip') == dict(
        coarse=40.0, middle=None, fine=30.0)
    assert stages.per_level_ap(str(tmp_path), names, 'gzsl') == dict(
        middle=10.0)
    with pytest.raises(ValueError, match='empty_class'):
        stages.per_level_ap(str(tmp_path), names, empty_class='nan')


@pytest.mark.slow
def test_taidpt_and_sigmoid_tower_stages_on_a_small_world(tmp_path,
                                                          monkeypatch):
    """TaI-DPT trained on the world's captions, the epoch chosen on the
    validation images, tested under the table's protocol; the SigLIP-style
    tower pre-trained on the world (its own checkpoint and sidecar, reused
    when unchanged) and scored ``sigmoid(s * cos + b)`` with its learned
    bias."""
    from granzsl_mm.models.backbones import OpenCLIPBackbone
    from granzsl_mm.proving_ground import DEFAULT_WORLD, build_synthetic_world, stages
    data = str(tmp_path / 'world')
    meta = build_synthetic_world(data, num_train=128, num_test=32, seed=4,
                                 num_val=32, val_seed=1004, progress=False)
    levels = list(DEFAULT_WORLD.levels)
    torch.manual_seed(2)
    ckpt = str(tmp_path / 'tiny_clip.pt')
    torch.save(OpenCLIPBackbone(arch='TinyCLIP-world',
                                pretrained='random').clip.state_dict(), ckpt)
    config = osp.join(ROOT, 'configs', 'pretrain_tiny_siglip_demo.py')
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        work = str(tmp_path / 'taidpt')
        res = stages.train_and_test_image_model(
            osp.join(ROOT, 'configs', 'taidpt_demo.py'), data, ckpt, meta,
            work, TABLE, seed=8000, max_epochs=1, validate=True,
            level_names=levels)
        sigmoid = stages.pretrain_tiny_clip(config, data,
                                            str(tmp_path / 'pre'),
                                            max_iters=4, seed=2000)
        demo = stages.demo_config(osp.join(ROOT, 'configs',
                                           'granzsl_demo.py'),
                                  data, ckpt, meta)
        scored = str(tmp_path / 'sigmoid')
        metrics = stages.sigmoid_zero_shot(demo, meta, scored, sigmoid,
                                           'TinyCLIP-world-sigmoid',
                                           score_mode='both')
    finally:
        torch.set_num_threads(threads)
    sel = res['selected']
    assert [c['epoch'] for c in sel['val']] == [1] and sel['epoch'] == 1
    assert set(res['levels']['table']) == {'colour shape'}
    # and under its own protocol (every image scored): every test image
    # holds an object, so GZSL is the same in both
    assert res['table']['gzsl/mAP'] == pytest.approx(res['own']['gzsl/mAP'])
    # the sigmoid tower: beside the tiny CLIP, with its trained bias
    assert sigmoid == osp.join(data, 'tiny_siglip.pt')
    with open(osp.join(data, 'tiny_siglip.json')) as f:
        assert json.load(f)['config'] == 'pretrain_tiny_siglip_demo.py'
    state = torch.load(sigmoid, map_location='cpu', weights_only=True)
    assert 'logit_bias' in state and float(state['logit_bias']) != -10.0
    import granzsl_mm.engine as engine

    def boom(cfg):
        raise AssertionError('pre-trained again')
    monkeypatch.setattr(engine, 'build_runner', boom)
    assert stages.pretrain_tiny_clip(config, data, str(tmp_path / 'pre2'),
                                     max_iters=4, seed=2000) == sigmoid
    cfg = stages.sigmoid_zero_shot_config(demo, meta, sigmoid,
                                          'TinyCLIP-world-sigmoid',
                                          score_mode='both')
    m = cfg.model
    assert (m.logit_scale, m.logit_bias, m.score_act) == ('clip', 'clip',
                                                          'sigmoid')
    assert (m.backbone.arch, m.backbone.pretrained,
            m.backbone.dense_mode) == ('TinyCLIP-world-sigmoid', sigmoid,
                                       'clearclip')
    assert m.templates == stages.DEMO_TEMPLATES
    # its mAPs are the means of its report's per-class APs (a class without
    # positives counts 0: the table's protocol)
    with open(osp.join(scored, 'reports', 'per_class_ap.json')) as f:
        rows = json.load(f)['per_class']
    for label_set, count in (('zsl', 5), ('gzsl', 26)):
        aps = [r['AP'] or 0.0 for r in rows if r['label_set'] == label_set]
        assert len(aps) == count and metrics[f'{label_set}/mAP'] == \
            pytest.approx(sum(aps) / count, abs=1e-4)
    assert stages.per_level_ap(osp.join(scored, 'reports'), levels) == {
        'colour shape': pytest.approx(metrics['zsl/mAP'])}
