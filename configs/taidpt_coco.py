# TaI-DPT (CVPR 2023), text as images: double-grained prompts (a global and
# a local context) learned on COCO captions alone, on a frozen CLIP RN50, then
# scored on MS-COCO 2014 val images, all 80 classes (the reference's
# coco2014 setting). The recipe is guozix/TaI-DPT's (commit 1333eca), as its
# README / scripts/main.sh run it:
#   bash main.sh coco2014_distill rn50_coco2014 end 16 False coco2014_caption
# (configs/trainers/Caption_distill_double/rn50_coco2014.yaml,
# configs/datasets/coco2014_distill.yaml, train_caption.py defaults). Each
# value below names the reference file it comes from.
#   python tools/train.py configs/taidpt_coco.py
#   python tools/test.py configs/taidpt_coco.py work_dirs/taidpt_coco/epoch_20.pth
# Layout: data/coco/annotations/{captions_train2014,instances_val2014}.json,
# data/coco/val2014/. Differences: docs/prompt_learning_comparators.md.
_base_ = ['_base_/default_runtime.py']

data_root = 'data/coco'
num_classes = 80
image_size = 224  # rn50_coco2014.yaml INPUT.SIZE (224, 224)

model = dict(
    _scope_='granzsl_mm',
    type='TaIDPT',
    # rn50_coco2014.yaml MODEL.BACKBONE.NAME "RN50" (OpenAI's weights,
    # frozen: Caption_distill_double.build_model trains prompt_learner only)
    backbone=dict(type='OpenCLIPBackbone', arch='RN50', pretrained='openai'),
    num_classes=num_classes,
    # datasets/coco2014_distill.py: all 80 classes (category-id order)
    class_names='coco80',
    num_seen_classes=None,  # every class is trained (text only)
    # scripts/main.sh: N_CTX 16, CSC False, CLASS_TOKEN_POSITION end
    num_context_tokens=16,
    class_specific=False,
    # Caption_distill_double.py PromptLearner: nn.init.normal_(std=0.02),
    # ctx and ctx_double (train_caption.py CTX_INIT "")
    init_std=0.02,
    # DenseCLIP.forward: 4.0 (TRAIN.IF_LEARN_SCALE False in the yaml)
    logit_scale=4.0,
    # rn50_coco2014.yaml TRAIN.spatial_SCALE_text 50, spatial_SCALE_image 40
    text_spatial_scale=50.0,
    image_spatial_scale=40.0,
    # train_caption.py TRAINER.Caption.GL_merge_rate 0.5 (evaluator.py
    # MLClassification "default_merge_aux": 0.5 global + 0.5 local)
    global_weight=0.5,
    # DenseCLIP.forward(if_test=True): attnpool(image_feat, if_pos=False)
    image_positional_embedding=False,
    # rn50_coco2014.yaml LOSSFUNC "double_ranking": Caption_distill_double.
    # forward_backward: ranking_loss(scale_=1.0, margin_=1) on both branches
    loss=dict(type='HingeRankingLoss', margin=1.0, scale=1.0),
    # rn50_coco2014.yaml INPUT.PIXEL_MEAN / PIXEL_STD (CLIP's), 0-255
    data_preprocessor=dict(type='TextImageDataPreprocessor',
                           mean=[122.770938, 116.7460125, 104.09373615],
                           std=[68.5005327, 66.6321579, 70.32316305],
                           to_rgb=True))

# datasets/coco2014_distill.py: COCO captions labelled by their words
# (coco_classname_synonyms), plus 9 x "a photo of a {}." and the 80
# IMAGENET_TEMPLATES per class (default_prompt_num 10). The reference reads
# captions_train2017.json through its coco_caption_text_embed_sampled_idx.pkl
# (a pickle of caption ids); here every caption of captions_train2014.json.
train_dataloader = dict(
    batch_size=512,  # rn50_coco2014.yaml DATALOADER.TRAIN_X.BATCH_SIZE
    num_workers=2,
    persistent_workers=True,
    drop_last=True,  # Dassl's build_data_loader drops the last train batch
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(type='CaptionLabelDataset', data_root=data_root,
                 ann_file='annotations/captions_train2014.json',
                 class_names='coco80', synonyms='coco', template_copies=9,
                 templates='openai_imagenet_80',
                 pipeline=[dict(type='PackTextInputs')]))

# rn50_coco2014.yaml TRANSFORMS_TEST resize, center_crop (Dassl: the short
# side to 224, INTERPOLATION bicubic, then a 224 centre crop)
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='ResizeEdge', scale=image_size, edge='short', backend='pillow',
         interpolation='bicubic'),
    dict(type='CenterCrop', crop_size=image_size),
    dict(type='PackInputs'),
]
test_dataloader = dict(
    batch_size=100,  # rn50_coco2014.yaml DATALOADER.TEST.BATCH_SIZE
    num_workers=4,
    sampler=dict(type='DefaultSampler', shuffle=False),
    # datasets/coco2014_distill.py: every image of instances_val2014.json
    dataset=dict(type='COCOMultiLabelDataset', data_root=data_root,
                 ann_file='annotations/instances_val2014.json',
                 data_prefix=dict(img_path='val2014'),
                 pipeline=test_pipeline))
# evaluator.py MLClassification: mAP over all classes (with top-k here too)
test_evaluator = dict(type='ZSLMultiLabelMetric', label_sets=('multilabel', ),
                      topk=(3, ))
test_cfg = dict()
# The reference keeps the epoch of the best mAP on every 10th test image
# (TEST.FINAL_MODEL "best_val", val = test[0::10]); here the last epoch.
val_dataloader = val_cfg = val_evaluator = None

# rn50_coco2014.yaml OPTIM: SGD, LR 0.0001; momentum 0.9, weight decay 5e-4,
# no dampening / Nesterov (Dassl defaults, Dassl.pytorch-master/dassl/
# config/defaults.py in the reference repository)
optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=1e-4, momentum=0.9, weight_decay=5e-4,
                   dampening=0, nesterov=False))
# rn50_coco2014.yaml: MAX_EPOCH 20, LR_SCHEDULER cosine, WARMUP_EPOCH 1,
# WARMUP_TYPE constant, WARMUP_CONS_LR 1e-5 (WARMUP_RECOUNT True), stepped
# once per epoch (Caption_distill_double.forward_backward: update_lr)
max_epochs = 20
param_scheduler = [
    dict(type='ConstantLR', factor=1e-5 / 1e-4, by_epoch=True, begin=0,
         end=2),  # mmengine restores the lr on the step that ends it
    dict(type='CosineAnnealingLR', T_max=max_epochs, eta_min=0.0,
         by_epoch=True, begin=1, end=max_epochs),
]
train_cfg = dict(by_epoch=True, max_epochs=max_epochs)
default_hooks = dict(logger=dict(interval=5),  # yaml TRAIN.PRINT_FREQ 5
                     checkpoint=dict(interval=1, max_keep_ckpts=3))
