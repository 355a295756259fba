# DualCoOp (NeurIPS 2022), zero-shot setting, on MS-COCO 2014 48 seen / 17
# unseen classes: learned positive and negative prompt contexts on a frozen
# CLIP RN50, trained on the seen labels, scored on the unseen (ZSL) and on all
# (GZSL) classes in one pass. The recipe is sunxm2357/DualCoOp's (commit
# 49e71d7), train_zsl.py as its README runs it:
#   python train_zsl.py --config_file configs/models/rn50_ep50.yaml
#       --dataset_config_file configs/datasets/coco.yaml --input_size 224
#       --lr 0.002 --loss_w 0.01 --n_ctx_pos 64 --n_ctx_neg 64
# Each value below names the reference file it comes from.
#   python tools/train.py configs/dualcoop_coco.py
#   python tools/test.py configs/dualcoop_coco.py work_dirs/dualcoop_coco/epoch_50.pth
# Differences to the reference: docs/prompt_learning_comparators.md.
_base_ = ['_base_/default_runtime.py', '_base_/datasets/coco_zsl_test.py']

num_classes, num_seen_classes = 65, 48
image_size = 224  # README: --input_size 224 (configs/models/rn50_ep50.yaml)

model = dict(
    _scope_='granzsl_mm',
    type='DualCoOp',
    # configs/models/rn50_ep50.yaml: MODEL.BACKBONE.NAME "RN50" (OpenAI's
    # weights; frozen: utils/build_cfg.py FINETUNE_BACKBONE / _ATTN False)
    backbone=dict(type='OpenCLIPBackbone', arch='RN50', pretrained='openai'),
    num_classes=num_classes,
    num_seen_classes=num_seen_classes,
    class_names='coco48_17',
    # README: --n_ctx_pos 64 --n_ctx_neg 64
    num_context_tokens=64,
    num_negative_context_tokens=64,
    # README: "csc does not work for zero-shot MLR" (a shared context)
    class_specific=False,
    # models/dualcoop.py MLCPromptLearner: no init words
    # (POSITIVE/NEGATIVE_PROMPT_INIT ""), nn.init.normal_(std=0.02)
    init_std=0.02,
    # models/dualcoop.py DualCoop.forward: 20 * cosines, 5 * aggregate
    region_scale=20.0,
    output_scale=5.0,
    # utils/trainers.py train_coop: AsymmetricLoss(ASL_GAMMA_NEG,
    # ASL_GAMMA_POS) = (2, 1) (utils/build_cfg.py, opts.py), clip 0.05 and
    # eps 1e-6 (utils/asymmetric_loss.py defaults); README: --loss_w 0.01
    loss=dict(type='DualAsymmetricLoss', gamma_neg=2, gamma_pos=1,
              clip=0.05, eps=1e-6, loss_weight=0.01),
    # opts.py --num_train_cls 100 (COCO's 48 seen classes: all every step)
    train_classes_per_step=100,
    # dataloaders/coco_detection.py: Normalize with CLIP's mean / std
    data_preprocessor=dict(type='ClsDataPreprocessor',
                           mean=[122.770938, 116.7460125, 104.09373615],
                           std=[68.5005327, 66.6321579, 70.32316305],
                           to_rgb=True))

# dataloaders/coco_detection.py train_transform: Resize((224, 224)) (PIL
# bilinear, torchvision's default), CutoutPIL(cutout_factor=0.5) (a square of
# half the side, random colour), RandAugment() (the `randaugment` package);
# here MMPretrain's Cutout (grey fill) and RandAugment (timm's policies).
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
# dataloaders/coco_detection.py test_transform: Resize((224, 224)) bilinear
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(image_size, image_size), backend='pillow',
         interpolation='bilinear'),
    dict(type='PackInputs'),
]
train_dataloader = dict(
    batch_size=32,  # configs/models/rn50_ep50.yaml TRAIN_X.BATCH_SIZE
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type='COCOZSLDataset',
        data_root={{_base_.data_root}},
        # configs/datasets/coco.yaml ZS_TRAIN
        ann_file='annotations/instances_train2014_seen_48_17.json',
        data_prefix=dict(img_path='train2014'),
        split_file={{_base_.split_file}},
        label_set='seen',
        empty_images='drop',
        pipeline=train_pipeline))
test_dataloader = dict(batch_size=100,  # rn50_ep50.yaml TEST.BATCH_SIZE
                       dataset=dict(pipeline=test_pipeline))
test_evaluator = dict(type='ZSLMultiLabelMetric', topk=(3, 5),
                      label_sets=('zsl', 'gzsl'))
test_cfg = dict()
# The reference keeps the epoch of the best F1 on its test split (VAL_SPLIT
# = TEST_SPLIT = val2014); here the last epoch (no test-set selection).
val_dataloader = val_cfg = val_evaluator = None

# train_zsl.py: torch.optim.SGD over the prompt contexts, lr 0.002 (README
# for COCO; configs/models/rn50_ep50.yaml OPTIM.LR), momentum 0.9, weight
# decay 5e-4, no dampening, no Nesterov (Dassl's defaults,
# dassl/config/defaults.py @ c61a1b5).
optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.002, momentum=0.9, weight_decay=5e-4,
                   dampening=0, nesterov=False))
# configs/models/rn50_ep50.yaml: MAX_EPOCH 50, LR_SCHEDULER "cosine",
# WARMUP_EPOCH 1 (opts.py --warmup_epochs 1), WARMUP_TYPE "constant",
# WARMUP_CONS_LR 1e-5; stepped once per epoch (utils/trainers.py). Dassl's
# ConstantWarmupScheduler recounts (WARMUP_RECOUNT True): epoch e >= 1 runs
# at 0.002 * (1 + cos(pi * (e - 1) / 50)) / 2.
max_epochs = 50
param_scheduler = [
    dict(type='ConstantLR', factor=1e-5 / 0.002, by_epoch=True, begin=0,
         end=2),  # mmengine restores the lr on the step that ends it
    dict(type='CosineAnnealingLR', T_max=max_epochs, eta_min=0.0,
         by_epoch=True, begin=1, end=max_epochs),
]
train_cfg = dict(by_epoch=True, max_epochs=max_epochs)
default_hooks = dict(logger=dict(interval=50),
                     checkpoint=dict(interval=1, max_keep_ckpts=3))
