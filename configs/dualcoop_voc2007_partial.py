# DualCoOp (NeurIPS 2022), partial-label setting, on PASCAL VOC 2007: half of
# every training image's labels hidden at random (each label known with
# probability 0.5), class-specific positive and negative prompt contexts on a
# frozen CLIP RN101, tested on VOC 2007 test, all 20 classes. The recipe is
# sunxm2357/DualCoOp's (commit 49e71d7), train.py as its README runs it:
#   python train.py --config_file configs/models/rn101_ep50.yaml
#       --dataset_config_file configs/datasets/voc2007.yaml
#       --input_size 448 --lr 0.001 --loss_w <w> -pp 0.5 --csc
# Each value below names the reference file it comes from.
#   python tools/train.py configs/dualcoop_voc2007_partial.py
#   python tools/test.py configs/dualcoop_voc2007_partial.py \
#       work_dirs/dualcoop_voc2007_partial/epoch_50.pth
# Layout: data/VOCdevkit/VOC2007/{JPEGImages,ImageSets/Main}.
# Differences to the reference: docs/prompt_learning_comparators.md.
_base_ = ['dualcoop_coco.py']

voc_root = 'data/VOCdevkit/VOC2007'
num_classes = 20
# README: --input_size 448 (its partial-label command; TaI-DPT's
# scripts/ensemble.sh names the run voc2007_partial_dualcoop_448_CSC_p0_5)
image_size = 448

model = dict(
    # configs/models/rn101_ep50.yaml: MODEL.BACKBONE.NAME "RN101"
    backbone=dict(arch='RN101', pretrained='openai'),
    num_classes=num_classes,
    num_seen_classes=num_classes,  # every class is trained
    # dataloaders/pascal_voc.py classnames: VOC's own spelling
    # ('diningtable', 'pottedplant', 'tvmonitor')
    class_names='voc20_tagclip',
    # utils/build_cfg.py: TRAINER.COOP_MLC.N_CTX_POS / N_CTX_NEG = 16 (the
    # README's command sets neither)
    num_context_tokens=16,
    num_negative_context_tokens=16,
    # README: --csc (class-specific prompts; "class-agnostic when pp is very
    # small")
    class_specific=True,
    # README: "larger loss_w for smaller pp"; its -pp 0.5 example (COCO)
    # uses --loss_w 0.03, taken here (no VOC value is given)
    loss=dict(loss_weight=0.03))

# dataloaders/pascal_voc.py train_transform / test_transform, at 448
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(image_size, image_size), backend='pillow',
         interpolation='bilinear'),
    dict(type='Cutout', shape=image_size // 2, pad_val=128, prob=1.0),
    dict(type='RandAugment', policies='timm_increasing', num_policies=2,
         total_level=10, magnitude_level=9,
         hparams=dict(pad_val=128, interpolation='bilinear')),
    dict(type='PackInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(image_size, image_size), backend='pillow',
         interpolation='bilinear'),
    dict(type='PackInputs'),
]
train_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='PartialLabelDataset',
        # README -pp 0.5: each label known with probability 0.5, drawn per
        # (image, class) (dataloaders/pascal_voc.py); seeded here
        known_proportion=0.5,
        seed=0,
        # configs/datasets/voc2007.yaml TRAIN_SPLIT "trainval"; pascal_voc.py
        # skips 'difficult' objects (negative) and keeps every image
        dataset=dict(type='VOCMultiLabelDataset', data_root=voc_root,
                     split='trainval', difficult_as='negative',
                     empty_images='keep'),
        pipeline=train_pipeline))
# configs/datasets/voc2007.yaml TEST_SPLIT "test" (4952 images)
test_dataloader = dict(
    dataset=dict(_delete_=True, type='VOCMultiLabelDataset',
                 data_root=voc_root, split='test', difficult_as='negative',
                 empty_images='keep', pipeline=test_pipeline))
# utils/validations.py validate: mAP over all classes (top-k here too)
test_evaluator = dict(type='ZSLMultiLabelMetric', label_sets=('multilabel', ),
                      topk=(3, ))
# train.py keeps the epoch of the best test mAP (VAL_SPLIT = TEST_SPLIT =
# test); here the last epoch (no test-set selection).

# README: "lr: 0.001 for VOC2007"; the rest of the optimizer as in
# dualcoop_coco.py (Dassl's defaults, train.py torch.optim.SGD)
optim_wrapper = dict(optimizer=dict(lr=0.001))
# configs/models/rn101_ep50.yaml: MAX_EPOCH 50, cosine, a constant warm-up
# epoch at 1e-5 (as rn50_ep50.yaml; train.py build_lr_scheduler)
param_scheduler = [
    dict(type='ConstantLR', factor=1e-5 / 0.001, by_epoch=True, begin=0,
         end=2),
    dict(type='CosineAnnealingLR', T_max=50, eta_min=0.0, by_epoch=True,
         begin=1, end=50),
]
