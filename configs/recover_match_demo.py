# Recover-and-Match on the synthetic proving-ground world (CPU, a few
# minutes): the recipe of recover_match_coco.py on the world's tiny CLIP
# (TinyCLIP-world: 2 vision and 2 text blocks, 48 px, a 4 x 4 patch grid),
# trained on the world's seen labels, scored on the unseen and on all
# classes.
#   python tools/make_demo_data.py
#   python tools/pretrain_tiny_clip.py configs/pretrain_tiny_clip_demo.py
#   python tools/train.py configs/recover_match_demo.py
#   python tools/test.py configs/recover_match_demo.py \
#       work_dirs/recover_match_demo/epoch_2.pth
# Without data/demo/tiny_clip.pt (written by `make demo`) the tools stop.
# On a world with a validation split the proving ground's
# stages.train_and_test_image_model chooses the learning rate and the epoch
# on the validation images, as for mkt_demo.py / sigrl_demo.py.
_base_ = ['recover_match_coco.py']

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
    # the world's caption words, the first of granzsl_demo.py's templates
    template='a picture of a {}.',
    # the last of the 2 blocks, as blocks 9-11 are the last of ViT-B/16's 12
    adapter_blocks=(1, ),
    text_prompt_blocks=(1, ),
    save_frozen_weights=False,  # the tiny CLIP is read from its file
    # the tiny CLIP was pre-trained with CLIP's normalisation (the recipe's
    # 0.5 / 0.5 would shift its frozen tower)
    data_preprocessor=dict(mean=[122.770938, 116.7460125, 104.09373615],
                           std=[68.5005327, 66.6321579, 70.32316305]))

# The world's labels name every object in the image: no crop or erasing
# (they would cut or hide objects while keeping their labels). Flips keep
# every label true.
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

# 2 short epochs instead of 6 long ones: 20 x the recipe's rates (as
# mkt_demo.py's 2e-2 to mkt_coco.py's 1e-3) for both optimizers: AdamW 1e-3
# (adapters at 0.1 x as the recipe), SGD for the tokens 2e-2; a
# quarter-epoch warm-up, then cosine, the same factors for both. The proving
# ground's rate grid sets AdamW's rate and scales SGD's by the same ratio
# (docs/demo.md).
optim_wrapper = dict(adamw=dict(optimizer=dict(lr=1e-3)),
                     sgd=dict(optimizer=dict(lr=2e-2)))
max_epochs = 2
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, end_factor=1.0, by_epoch=True,
         begin=0, end=0.25, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', eta_min_ratio=1e-3, by_epoch=True,
         begin=0.25, end=max_epochs, convert_to_iter_based=True),
]
train_cfg = dict(by_epoch=True, max_epochs=max_epochs)
default_hooks = dict(logger=dict(interval=20),
                     checkpoint=dict(interval=max_epochs, max_keep_ckpts=1))
randomness = dict(seed=0, deterministic=False)
