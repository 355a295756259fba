# MKT stage 1 (AAAI 2023) on MS-COCO 2014, 48 seen / 17 unseen classes.
# CLIP ViT-B/16, vision blocks >= 10 (+ ln_post, proj) fine-tuned with
# layer-wise lr decay 0.65; ranking + L1 distillation losses; the recipe of
# the reference code (NUS-WIDE), applied to COCO.
#   python tools/train.py configs/mkt_coco.py [--amp]
#   python tools/test.py configs/mkt_coco.py work_dirs/mkt_coco/epoch_20.pth
# data_root, split_file, image_size and the GZSL test set:
# _base_/datasets/coco_zsl_test.py (here with MKT's test pipeline).
# Label order of COCOZSLDataset with cls_ids.pickle: seen, then unseen, each
# in COCO category-id order (the class list 'coco48_17',
# granzsl_mm.structures.class_lists.CLASS_LISTS). The reference normalises
# with timm's ImageNet mean / std, not CLIP's.
_base_ = ['_base_/default_runtime.py', '_base_/datasets/coco_zsl_test.py']

num_classes, num_seen_classes = 65, 48

model = dict(
    # built in our scope whoever builds it (mmpretrain.get_model builds in
    # its own): mmengine's cross-library `_scope_` key
    _scope_='granzsl_mm',
    type='MKT',
    backbone=dict(type='OpenCLIPBackbone', arch='ViT-B-16',
                  pretrained='openai', dense_mode='plain', frozen=True,
                  trainable_blocks_from=10),
    num_classes=num_classes,
    num_seen_classes=num_seen_classes,
    class_names='coco48_17',
    # MKT's prompt, no period (its stage 2 and, per its author, the released
    # stage-1 label_emb.pt; the code that built that file is not public)
    template='There is a {} in the scene',
    topk=16,
    rank_loss=dict(type='RankingLoss', loss_weight=1.0),
    distill_loss=dict(type='L1DistillLoss', loss_weight=1.0),
    label_set='gzsl',
    data_preprocessor=dict(type='ClsDataPreprocessor',
                           mean=[123.675, 116.28, 103.53],
                           std=[58.395, 57.12, 57.375], to_rgb=True))

# timm's create_transform(is_training=True, auto_augment=
# 'rand-m9-mstd0.5-inc1', interpolation='bicubic', color_jitter=False):
# random resized crop, horizontal flip, RandAugment (fill = ImageNet mean).
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomResizedCrop', scale={{_base_.image_size}}, backend='pillow',
         interpolation='bicubic'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='RandAugment', policies='timm_increasing', num_policies=2,
         total_level=10, magnitude_level=9, magnitude_std=0.5,
         hparams=dict(pad_val=[104, 116, 124], interpolation='bicubic')),
    dict(type='PackInputs'),
]
# Resize the short side to 256 (224 / 0.875), centre crop 224, bicubic.
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='ResizeEdge', scale=256, edge='short', backend='pillow',
         interpolation='bicubic'),
    dict(type='CenterCrop', crop_size={{_base_.image_size}}),
    dict(type='PackInputs'),
]

# Seen labels only; images without a seen positive are left out by the
# dataset (never by shrinking a batch: an empty batch under DDP hangs).
train_dataloader = dict(
    batch_size=64,
    num_workers=8,
    persistent_workers=True,
    drop_last=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type='COCOZSLDataset',
        data_root={{_base_.data_root}},
        # train2014 without any image holding an unseen object
        # (tools/dataset_converters/coco_zsl.py)
        ann_file='annotations/instances_train2014_seen_48_17.json',
        data_prefix=dict(img_path='train2014'),
        split_file={{_base_.split_file}},
        label_set='seen',
        empty_images='drop',
        pipeline=train_pipeline))
test_dataloader = dict(batch_size=64, num_workers=8,
                       dataset=dict(pipeline=test_pipeline))
# BiAM / MKT / SigRL score every test image (no image is dropped).
test_evaluator = dict(type='ZSLMultiLabelMetric', topk=(3, 5),
                      label_sets=('zsl', 'gzsl'), drop_empty_images=False)
test_cfg = dict()
val_dataloader = val_cfg = val_evaluator = None  # no test-set selection

# AdamW lr 1e-3 (min 1e-6), wd 0.05 on matrices (none on 1-D parameters),
# layer-wise lr decay 0.65; 20 epochs, 2 linear warm-up epochs then cosine,
# both stepped per iteration as in the reference.
optim_wrapper = dict(
    optimizer=dict(type='AdamW', lr=1e-3, weight_decay=0.05,
                   betas=(0.9, 0.999), eps=1e-8),
    constructor='LearningRateDecayOptimWrapperConstructor',
    paramwise_cfg=dict(layer_decay_rate=0.65, flat_decay_mult=0.0))
warmup_epochs, max_epochs = 2, 20
param_scheduler = [
    # reference: lr * t / warmup from 0; mmengine needs start_factor > 0
    dict(type='LinearLR', start_factor=1e-3, end_factor=1.0, by_epoch=True,
         begin=0, end=warmup_epochs, convert_to_iter_based=True),
    # eta_min_ratio: the minimum scales with each group's layer decay, as
    # the reference's min_lr * lr_scale
    dict(type='CosineAnnealingLR', eta_min_ratio=1e-6 / 1e-3, by_epoch=True,
         begin=warmup_epochs, end=max_epochs, convert_to_iter_based=True),
]
train_cfg = dict(by_epoch=True, max_epochs=max_epochs)
auto_scale_lr = dict(base_batch_size=64)

default_hooks = dict(logger=dict(interval=50),
                     checkpoint=dict(type='CheckpointHook', interval=1,
                                     max_keep_ckpts=3))
randomness = dict(seed=42, deterministic=False)  # the reference's seed
