# DualCoOp on the synthetic proving-ground world (CPU, about a minute): the
# recipe of dualcoop_coco.py on the world's tiny CLIP (TinyCLIP-world, a
# ViT: its projected tokens, CLS first, are the regions), trained on the
# world's seen labels, scored on the unseen and on all classes.
#   python tools/make_demo_data.py
#   python tools/pretrain_tiny_clip.py configs/pretrain_tiny_clip_demo.py
#   python tools/train.py configs/dualcoop_demo.py
#   python tools/test.py configs/dualcoop_demo.py work_dirs/dualcoop_demo/epoch_2.pth
# Without data/demo/tiny_clip.pt (written by `make demo`) the tools stop.
# On a world with a validation split the proving ground's
# stages.train_and_test_image_model chooses the learning rate and the epoch
# on the validation images, as for mkt_demo.py / sigrl_demo.py.
_base_ = ['dualcoop_coco.py']

data_root = 'data/demo'
split_file = 'split.json'
image_size = 48  # TinyCLIP-world's input size (the world is drawn at 64 px)
# The world's 26 classes: 21 seen, 5 unseen, seen first.
num_classes, num_seen_classes = 26, 21

model = dict(
    backbone=dict(arch='TinyCLIP-world', pretrained='data/demo/tiny_clip.pt'),
    num_classes=num_classes,
    num_seen_classes=num_seen_classes,
    class_names=data_root + '/' + split_file,  # seen then unseen
    # the tiny CLIP's text context is 32 tokens: 8 + 8 instead of 64 + 64
    num_context_tokens=8,
    num_negative_context_tokens=8,
    save_frozen_weights=False,  # the tiny CLIP is read from its file
    # the tiny CLIP was pre-trained with CLIP's normalisation
    data_preprocessor=dict(mean=[122.770938, 116.7460125, 104.09373615],
                           std=[68.5005327, 66.6321579, 70.32316305]))

# The world's labels name every object in the image: no cutout (it would
# hide objects while keeping their labels), no RandAugment (colour
# operations change the colour classes). Flips keep every label true.
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(image_size, image_size), backend='pillow',
         interpolation='bicubic'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(image_size, image_size), backend='pillow',
         interpolation='bicubic'),
    dict(type='PackInputs'),
]
train_dataloader = dict(
    batch_size=32,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(
        _delete_=True,
        type='COCOZSLDataset',
        data_root=data_root,
        ann_file='annotations/instances_train.json',  # seen labels only
        data_prefix=dict(img_path='images'),
        split_file=split_file,
        label_set='seen',
        empty_images='drop',
        pipeline=train_pipeline))
test_dataloader = dict(
    batch_size=64,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(
        _delete_=True,
        type='COCOZSLDataset',
        data_root=data_root,
        ann_file='annotations/instances_test.json',
        data_prefix=dict(img_path='images'),
        split_file=split_file,
        label_set='all',
        pipeline=test_pipeline))

# SGD as the recipe, at lr 2e-5 for 2 short epochs instead of 0.002 for 50
# long ones: chosen on validation images (150 of a world with this world's
# classes and rules, its own seeds 7 / 1007, 600 training images, this tiny
# CLIP) among 2e-6 / 6e-6 / 2e-5 / 2e-4 / 2e-3 over 4 epochs, then 1e-5 /
# 2e-5 / 6e-5 over 2 (docs/prompt_learning_comparators.md). From 6e-5 on,
# training drives every logit pair to saturation (all scores equal, mAP at
# chance). A quarter-epoch linear warm-up, then cosine, per iteration
# (mkt_demo.py's).
optim_wrapper = dict(optimizer=dict(lr=2e-5))
max_epochs = 2
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, end_factor=1.0, by_epoch=True,
         begin=0, end=0.25, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', eta_min=0.0, by_epoch=True, begin=0.25,
         end=max_epochs, convert_to_iter_based=True),
]
train_cfg = dict(by_epoch=True, max_epochs=max_epochs)
default_hooks = dict(logger=dict(interval=20),
                     checkpoint=dict(interval=max_epochs, max_keep_ckpts=1))
randomness = dict(seed=0, deterministic=False)
