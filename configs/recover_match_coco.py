# Recover-and-Match (CVPR 2025) on MS-COCO 2014, 48 seen / 17 unseen classes:
# the recipe of the reference's configs/coco.yml (EricTan7/RAM @ f2073f9;
# values its yml leaves out come from its config/defaults.py, named "defaults"
# below). Frozen CLIP ViT-B/16; trained: local adapters + 8 tokens in vision
# blocks 9-11, 4 deep text prompts in text blocks 9-11, two temperatures.
#   python tools/train.py configs/recover_match_coco.py [--amp]
#   python tools/test.py configs/recover_match_coco.py \
#       work_dirs/recover_match_coco/epoch_6.pth
# The test set (the released instances_val2014_gzsi_48_17.json) and its
# data_root: _base_/datasets/coco_zsl_test.py; the reference's own filtered
# test files and how they differ: docs/recover_match.md.
_base_ = ['_base_/default_runtime.py', '_base_/datasets/coco_zsl_test.py']

num_classes, num_seen_classes = 65, 48
image_size = 224  # coco.yml INPUT.SIZE_TRAIN / SIZE_TEST [224, 224]

model = dict(
    _scope_='granzsl_mm',
    type='RecoverMatch',
    # coco.yml MODEL.BACKBONE 'ViT-B/16'; TRANSFER_TYPE "Adapter" (CLIP
    # frozen, only adapters / tokens train)
    backbone=dict(type='OpenCLIPBackbone', arch='ViT-B-16',
                  pretrained='openai', frozen=True),
    num_classes=num_classes,
    num_seen_classes=num_seen_classes,
    class_names='coco48_17',
    # model/model.py get_text_templates: "A photo of a {}." (CLIP's tokenizer
    # lower-cases it: the same tokens)
    template='a photo of a {}.',
    adapter_blocks=(9, 10, 11),  # coco.yml MODEL.DEPTH_VISION [9,10,11]
    text_prompt_blocks=(9, 10, 11),  # coco.yml MODEL.DEPTH_TEXT [9,10,11]
    num_adapter_tokens=8,  # defaults MODEL.VISION_ADAPT 8
    num_text_prompts=4,  # defaults MODEL.TEXT_CTX 4
    kernel_size=3,  # coco.yml MODEL.KERNEL_SIZE 3
    local_temperature=2e-3,  # coco.yml MODEL.TEMPERATURE 2e-3
    ot_reg=0.1,  # defaults MODEL.OT_REG 0.1
    ot_reg_knowledge=0.05,  # coco.yml MODEL.OT_REGSC 0.05
    # model/model.py: build_weights(temperature=0.1), local_similarity * 20.,
    # model/ot_solver.py Sinkhorn(max_iter=100, thresh=1e-3)
    marginal_temperature=0.1,
    teacher_sharpness=20.0,
    sinkhorn_iters=100,
    sinkhorn_thresh=1e-3,
    loss=dict(type='MultiMatchingLoss'),  # coco.yml MODEL.LOSS_TYPE 'MMC'
    label_set='gzsl',
    # coco.yml INPUT.PIXEL_MEAN / PIXEL_STD [0.5, 0.5, 0.5] (x 255)
    data_preprocessor=dict(type='ClsDataPreprocessor',
                           mean=[127.5, 127.5, 127.5],
                           std=[127.5, 127.5, 127.5], to_rgb=True))

# datasets/make_dataloader.py: Resize(224, bicubic), RandomHorizontalFlip
# (coco.yml INPUT.PROB 0.5), Pad(INPUT.PADDING 10) + RandomCrop(224), timm
# RandomErasing(INPUT.RE_PROB 0.5, mode 'pixel'); mmpretrain's erasing runs
# before normalisation (mode 'rand': random values per pixel).
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(image_size, image_size), backend='pillow',
         interpolation='bicubic'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='RandomCrop', crop_size=image_size, padding=10),
    dict(type='RandomErasing', erase_prob=0.5, mode='rand', min_area_ratio=0.02,
         max_area_ratio=1 / 3, aspect_range=(0.3, 1 / 0.3)),
    dict(type='PackInputs'),
]
# val_transforms: Resize((224, 224)) (bilinear, torchvision's default)
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(image_size, image_size), backend='pillow',
         interpolation='bilinear'),
    dict(type='PackInputs'),
]
train_dataloader = dict(
    batch_size=32,  # coco.yml SOLVER.IMS_PER_BATCH 32
    num_workers=8,  # coco.yml DATALOADER.NUM_WORKERS 8
    persistent_workers=True,
    drop_last=True,  # make_dataloader.py drop_last=True
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type='COCOZSLDataset',
        data_root={{_base_.data_root}},
        ann_file='annotations/instances_train2014_seen_48_17.json',
        data_prefix=dict(img_path='train2014'),
        split_file={{_base_.split_file}},
        label_set='seen',
        empty_images='drop',
        pipeline=train_pipeline))
test_dataloader = dict(batch_size=64, num_workers=8,
                       dataset=dict(pipeline=test_pipeline))
# the reference reports top-3 / top-5 precision, recall and F1 (ZSL, GZSL)
test_evaluator = dict(type='ZSLMultiLabelMetric', topk=(3, 5),
                      label_sets=('zsl', 'gzsl'), drop_empty_images=False)
test_cfg = dict()
val_dataloader = val_cfg = val_evaluator = None  # no test-set selection

# solver/make_optimizer.py: two optimizers. AdamW (SOLVER.OPTIMIZER_NAME,
# torch defaults betas (0.9, 0.999), eps 1e-8) over SOLVER.BASE_LR 5e-5 with
# WEIGHT_DECAY 1e-4: the adapters (trainable parameters under clip_model)
# at BASE_LR x 0.1 (lr_mult), the temperatures at BASE_LR. SGD for the
# learnable tokens ("embeds": the vision adapter tokens and the deep text
# prompts): defaults SOLVER.BASE_LR_SGD 1e-3, MOMENTUM 0.9,
# WEIGHT_DECAY_SGD 1e-4 (dampening 0, no Nesterov). The split by name is
# this config's `params`; RecoverMatch.train_step steps both on one
# backward. No gradient clipping (none in processor/processor.py).
optim_wrapper = dict(
    constructor='ParamSplitOptimWrapperConstructor',
    adamw=dict(optimizer=dict(type='AdamW', lr=5e-5, weight_decay=1e-4),
               paramwise_cfg=dict(custom_keys={'adapters.': dict(lr_mult=0.1)})),
    sgd=dict(optimizer=dict(type='SGD', lr=1e-3, momentum=0.9,
                            weight_decay=1e-4),
             params=('adapter_tokens.', 'text_prompts.')))
# solver/make_scheduler.py + train.py: one timm CosineLRScheduler per
# optimizer, both from the same values: cosine over defaults
# SCHEDULER_MAX_EPOCHS 60, WARMUP_EPOCHS 3 from warmup_lr_init = 0.01 x
# BASE_LR = 5e-7 to each group's rate, floor lr_min = 0.002 x BASE_LR = 1e-7
# (absolute: the same for the SGD tokens and every AdamW group), stepped
# with the 1-based epoch before each epoch (first_t=1); coco.yml
# SOLVER.MAX_EPOCHS 6 stops it early. A list: mmengine builds it for each
# optimizer.
max_epochs = 6
param_scheduler = [
    dict(type='TimmCosineLR', t_initial=60, warmup_t=3, warmup_lr_init=5e-7,
         lr_min=1e-7, first_t=1, by_epoch=True),
]
train_cfg = dict(by_epoch=True, max_epochs=max_epochs)
auto_scale_lr = dict(base_batch_size=32)
default_hooks = dict(logger=dict(interval=500),  # coco.yml LOG_PERIOD 500
                     checkpoint=dict(type='CheckpointHook', interval=3,
                                     max_keep_ckpts=2))  # EVAL_PERIOD 3
randomness = dict(seed=42, deterministic=False)  # defaults SOLVER.SEED 42
