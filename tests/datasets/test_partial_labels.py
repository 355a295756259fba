"""Partial labels as DualCoOp hides them (``sunxm2357/DualCoOp`` @ 49e71d7,
``dataloaders/pascal_voc.py`` / ``coco_detection.py`` / ``nus_wide.py``),
and the VOC 2007 partial-label config trained and tested through the tools
on a tiny generated VOC set with a tiny random CLIP ResNet."""
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config

from granzsl_mm import register_all_modules
from granzsl_mm.datasets import VOC_CLASSES, PartialLabelDataset, VOCMultiLabelDataset
from granzsl_mm.datasets.spml import hide_labels, known_label_mask
from tests.fixtures.spml_data import make_tiny_voc

ROOT = osp.join(osp.dirname(__file__), '..', '..')


def reference_targets(labels: torch.Tensor, partial: float, seed: int):
    """The reference's lines, run as written (``voc2007.__init__`` and
    ``__getitem__``), after seeding torch's default generator."""
    torch.manual_seed(seed)
    rand_tensor = torch.rand(labels.shape[0], labels.shape[1])
    mask = (rand_tensor < partial).long()
    mask = torch.stack([mask], dim=1)
    out = []
    for index in range(labels.shape[0]):
        target = labels[index].long()[None, ]
        masked = - torch.ones((1, labels.shape[1]), dtype=torch.long)
        target = mask[index] * target + (1 - mask[index]) * masked
        out.append(target.max(dim=0)[0])  # utils/trainers.py target.max(1)
    return torch.stack(out).numpy(), mask


@pytest.mark.parametrize('partial', [0.1, 0.5, 0.9])
def test_hiding_equals_the_reference_rule(partial):
    gen = np.random.default_rng(3)
    labels = (gen.random((40, 20)) < 0.2).astype(np.int8)
    want, _ = reference_targets(torch.from_numpy(labels), partial, seed=7)
    got = hide_labels(labels, known_label_mask(40, 20, partial, seed=7))
    np.testing.assert_array_equal(got, want)
    # per (image, label), about the asked share known; labels kept as given
    assert abs((got != -1).mean() - partial) < 0.1
    np.testing.assert_array_equal(got[got != -1], labels[got != -1])
    # already-unknown labels stay unknown
    labels[0, :] = -1
    assert (hide_labels(labels, np.ones_like(labels, bool))[0] == -1).all()


def test_dataset_hides_as_the_reference_and_reads_its_mask(tmp_path):
    register_all_modules()
    make_tiny_voc(str(tmp_path), num_train=12, num_val=6)
    voc = dict(type='VOCMultiLabelDataset',
               data_root=str(tmp_path / 'VOCdevkit' / 'VOC2012'),
               split='trainval', difficult_as='negative', empty_images='keep')
    full = VOCMultiLabelDataset(**{k: v for k, v in voc.items()
                                   if k != 'type'})
    labels = np.stack([full.get_data_info(i)['gt_score']
                       for i in range(len(full))]).astype(np.int64)
    want, mask = reference_targets(torch.from_numpy(labels), 0.5, seed=11)
    drawn = PartialLabelDataset(dataset=voc, known_proportion=0.5, seed=11)
    # the mask file the reference saves (partial_label_0.50.pt)
    path = str(tmp_path / 'partial_label_0.50.pt')
    torch.save(mask, path)
    saved = PartialLabelDataset(dataset=voc, known_proportion=0.5,
                                mask_file=path)
    for ds in (drawn, saved):
        assert list(ds.metainfo['classes']) == list(VOC_CLASSES)
        got = np.stack([ds.get_data_info(i)['gt_score']
                        for i in range(len(ds))])
        np.testing.assert_array_equal(got, want)
        assert ds.get_data_info(0)['img_path'] == \
            full.get_data_info(0)['img_path']
    torch.save(mask[:3], path)
    with pytest.raises(ValueError, match='partial_label_0.50.pt'):
        PartialLabelDataset(dataset=voc, known_proportion=0.5,
                            mask_file=path)
    with pytest.raises(ValueError, match='known_proportion'):
        PartialLabelDataset(dataset=voc, known_proportion=0.0)


@pytest.mark.parametrize('name, classes, names, csc, lr, reader', [
    ('dualcoop_voc2007_partial.py', 20, 'voc20_tagclip', True, 0.001,
     'VOCMultiLabelDataset'),
    ('dualcoop_coco2014_partial.py', 80, 'coco80', False, 0.002,
     'COCOMultiLabelDataset')])
def test_config_follows_the_reference_recipe(name, classes, names, csc, lr,
                                             reader):
    cfg = Config.fromfile(osp.join(ROOT, 'configs', name))
    m = cfg.model
    assert (m.type, m.backbone.arch, m.backbone.pretrained) == (
        'DualCoOp', 'RN101', 'openai')
    assert (m.num_classes, m.num_seen_classes, m.class_names) == (
        classes, classes, names)
    assert (m.num_context_tokens, m.num_negative_context_tokens,
            m.class_specific) == (16, 16, csc)
    assert (m.loss.type, m.loss.loss_weight) == ('DualAsymmetricLoss', 0.03)
    assert cfg.optim_wrapper.optimizer.lr == lr
    assert cfg.param_scheduler[0].factor * lr == pytest.approx(1e-5)
    assert cfg.train_cfg.max_epochs == 50
    train = cfg.train_dataloader.dataset
    assert (train.type, train.known_proportion) == ('PartialLabelDataset',
                                                    0.5)
    assert train.dataset.type == cfg.test_dataloader.dataset.type == reader
    sizes = [t['scale'] for t in cfg.test_dataloader.dataset.pipeline
             if t['type'] == 'Resize']
    assert sizes == [(448, 448)]


@pytest.mark.slow
def test_config_trains_and_tests_through_the_tools(tmp_path, capsys):
    from tests.fixtures.run_tools import run_tool
    make_tiny_voc(str(tmp_path), num_train=12, num_val=6)
    root = str(tmp_path / 'VOCdevkit' / 'VOC2012')
    cfg = Config.fromfile(osp.join(ROOT, 'configs',
                                   'dualcoop_voc2007_partial.py'))
    cfg.model.backbone = dict(
        type='OpenCLIPBackbone', arch='RN-tiny', pretrained='random',
        model_cfg=dict(embed_dim=32, quick_gelu=True,
                       vision_cfg=dict(image_size=64, layers=[1, 1, 1, 1],
                                       width=8, patch_size=None),
                       text_cfg=dict(context_length=77, vocab_size=49408,
                                     width=32, heads=2, layers=1)))
    cfg.model.save_frozen_weights = True  # the random tower is in no file
    for loader in (cfg.train_dataloader, cfg.test_dataloader):
        loader.batch_size = 8
        loader.num_workers = 0
        loader.persistent_workers = False
        for t in loader.dataset.pipeline:
            if t['type'] == 'Resize':
                t['scale'] = (64, 64)
            if t['type'] == 'Cutout':
                t['shape'] = 32
    cfg.train_dataloader.dataset.dataset.data_root = root
    cfg.test_dataloader.dataset.data_root = root
    cfg.test_dataloader.dataset.split = 'val'  # the tiny set has no test
    cfg.train_cfg.max_epochs = 1
    cfg.param_scheduler = [dict(type='ConstantLR', factor=1.0)]
    cfg.work_dir = str(tmp_path / 'work')
    path = tmp_path / 'dualcoop_voc2007_partial_tiny.py'
    cfg.dump(str(path))
    run_tool('tools/train.py', [str(path)])
    run_tool('tools/test.py', [str(path), str(tmp_path / 'work' /
                                              'epoch_1.pth')])
    captured = capsys.readouterr()
    out = captured.out + captured.err
    assert 'loss_asl' in out and 'mAP' in out
