"""MKT stage 1 on Open Images v4 (configs/mkt_openimages.py): the paper's
classes and protocol, the reference recipe (NUS-WIDE's: the reference code
has no Open Images setting), and a tiny train + test run on a converted
Open Images root."""
import inspect
import os.path as osp

import pytest
from mmengine.config import Config

from granzsl_mm import register_all_modules
from tests.fixtures.openimages_files import write_converted_openimages_root
from tests.fixtures.tiny_override import tiny_override

ROOT = osp.join(osp.dirname(__file__), '..', '..')
NAME = 'mkt_openimages.py'


def _load(name=NAME):
    return Config.fromfile(osp.join(ROOT, 'configs', name))


def test_classes_and_protocol_are_the_papers():
    cfg = _load()
    m = cfg.model
    assert m.type == 'MKT'
    assert (m.num_classes, m.num_seen_classes) == (7586, 7186)
    assert m.class_names == 'data/openimages/split_7186_400.json'
    ev = cfg.test_evaluator
    assert dict(ev) == dict(type='OpenImagesZSLMetric', topk=(10, 20),
                            label_sets=('zsl', 'gzsl'),
                            ap=('biam_pooled', 'per_class'))
    train = cfg.train_dataloader.dataset
    assert (train.type, train.split, train.ann_file, train.label_set,
            train.empty_images, train.bad_images) == (
        'OpenImagesZSLDataset', 'train', 'openimages_zsl_train.json', 'seen',
        'drop', 'skip')
    assert train.data_root + '/split_7186_400.json' == m.class_names
    assert train.data_prefix == dict(img_path='train')
    # the test set of the CLIP baseline, with MKT's test pipeline
    test = dict(cfg.test_dataloader.dataset)
    clip = dict(_load('clip_zeroshot_openimages.py').test_dataloader.dataset)
    assert test.pop('pipeline') == _load('mkt_coco.py').test_pipeline
    clip.pop('pipeline')
    assert test == clip
    assert 'bad_images' not in test  # the test set stays strict
    assert cfg.val_dataloader is None and cfg.val_evaluator is None


def test_recipe_is_the_references_nuswide_one():
    """train_nus_first_stage.py's defaults (sunanhe/MKT; no Open Images
    script there): epochs 20, warm-up 2, lr 1e-3, min_lr 1e-6, weight decay
    0.05, batch 64, input 224, layer decay 0.65, fix_layer 10, topk 16,
    seed 42."""
    cfg = _load()
    m = cfg.model
    assert (m.backbone.arch, m.backbone.pretrained) == ('ViT-B-16', 'openai')
    assert m.backbone.trainable_blocks_from == 10
    assert m.topk == 16 and m.template == 'There is a {} in the scene'
    opt = cfg.optim_wrapper
    assert (opt.optimizer.type, opt.optimizer.lr,
            opt.optimizer.weight_decay) == ('AdamW', 1e-3, 0.05)
    assert opt.paramwise_cfg.layer_decay_rate == 0.65
    warmup, cosine = cfg.param_scheduler
    assert (warmup.type, warmup.end) == ('LinearLR', 2)
    assert cosine.type == 'CosineAnnealingLR'
    assert cosine.eta_min_ratio * opt.optimizer.lr == 1e-6
    assert (cosine.begin, cosine.end) == (2, 20)
    assert cfg.train_cfg.max_epochs == 20
    assert cfg.train_dataloader.batch_size == 64
    crop = [t for t in cfg.train_dataloader.dataset.pipeline
            if t.type == 'RandomResizedCrop'][0]
    assert crop.scale == 224
    assert cfg.randomness.seed == 42


def test_dataset_arguments_exist():
    from mmengine.dataset import BaseDataset

    from granzsl_mm.registry import DATASETS
    register_all_modules()
    cfg = _load()
    base = set(inspect.signature(BaseDataset).parameters)
    for loader in ('train_dataloader', 'test_dataloader'):
        ds = cfg[loader].dataset
        params = set(inspect.signature(DATASETS.get(ds.type)).parameters)
        assert set(ds) - {'type'} <= params | base, loader


@pytest.mark.slow
def test_tiny_train_and_test(tmp_path):
    """One epoch on the tiny root's train images (t1; t2 has no seen
    positive and is dropped), then BiAM's protocol on its test images, with
    the class names read from the converter's split file: the reported
    numbers are ``openimages_metrics`` on the predictions the test made."""
    from granzsl_mm.engine import build_runner

    from .recomputed import (
        add_prediction_dump,
        assert_openimages_metrics,
        dumped_arrays,
    )
    register_all_modules()
    root = write_converted_openimages_root(str(tmp_path / 'openimages'),
                                           splits=('train', 'test'))
    cfg = tiny_override(
        _load(), data_root=root, work_dir=str(tmp_path / 'work'),
        num_samples=None,
        extra={'model.num_classes': 34, 'model.num_seen_classes': 30,
               'model.class_names': osp.join(root, 'split_7186_400.json'),
               'model.topk': 4,
               # TinyCLIP-test has 2 blocks
               'model.backbone.trainable_blocks_from': 1,
               'train_dataloader.batch_size': 1})  # drop_last: one image
    evaluator = cfg.test_evaluator
    dump = str(tmp_path / 'preds.pth')
    cfg.test_evaluator = add_prediction_dump(evaluator, dump)
    runner = build_runner(cfg)
    train_set = runner.train_dataloader.dataset
    assert [osp.basename(train_set.get_data_info(i)['img_path'])
            for i in range(len(train_set))] == ['t1.jpg']
    # seen labels only: the model's first 30 names, in the model's order
    assert list(runner.model.class_names[:30]) == list(
        train_set.metainfo['classes'])
    runner.train()
    assert runner.iter == 1  # one batch of one image was trained on
    assert osp.isfile(osp.join(str(tmp_path / 'work'), 'epoch_1.pth'))
    metrics = runner.test()
    assert len(runner.test_dataloader.dataset) == 2  # a, c (b: no positive)
    meta = runner.test_dataloader.dataset.metainfo
    assert list(runner.model.class_names) == list(meta['classes'])
    arrays = dumped_arrays(dump)
    scores, targets = arrays['pred_score'], arrays['gt_score']
    assert scores.shape == (2, 34)
    # MKT scores the unseen set separately: its ZSL numbers use those scores
    zsl = arrays.get('pred_score_zsl', scores[:, 30:])
    assert_openimages_metrics(metrics, scores, zsl, targets, num_seen=30)
