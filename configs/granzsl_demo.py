# GranZSL on the synthetic demo world (CPU, minutes): a tiny CLIP, the world's
# own class descriptions, its COCO-ZSL-format test set. Build the data first:
#   python tools/make_demo_data.py            # writes data/demo/
#   python tools/train.py configs/granzsl_demo.py
#   python tools/test.py configs/granzsl_demo.py \
#       work_dirs/granzsl_demo/epoch_5.pth --tta
# The world's pre-trained tiny CLIP, data/demo/tiny_clip.pt, comes from
# `make demo` (tools/pretrain_tiny_clip.py; tools/run_demo.py does all of
# this); without it the tools stop ("run `make demo` first").
_base_ = ['granzsl_coco.py']

data_root = 'data/demo'
image_size = 48  # TinyCLIP-world's input size (the world is drawn at 64 px)
# The world's 26 classes: 21 seen (shape groups, shapes, colour + shape),
# 5 unseen colour + shape combinations (granzsl_mm.proving_ground.world).
num_classes, num_seen_classes = 26, 21
# Prompts in the words of the world's captions (the tiny CLIP never saw
# "photo"): the same templates score the CLIP prompt baseline.
templates = ['a picture of a {}.', 'there is a {}.', 'an image with a {}.']

model = dict(
    backbone=dict(arch='TinyCLIP-world', pretrained='data/demo/tiny_clip.pt'),
    name_learner=dict(template=templates[0]),
    num_classes=num_classes,
    num_seen_classes=num_seen_classes,
    save_frozen_clip=True,  # the tiny CLIP travels with the checkpoint
    pair_loss=dict(loss_weight=0.2))

train_dataloader = dict(
    batch_size=32,
    num_workers=0,
    persistent_workers=False,
    drop_last=True,
    dataset=dict(
        description_file=data_root + '/descriptions.json',
        split_file=data_root + '/split.json',
        templates=templates,
        # pinned: the demo's numbers predate granzsl_coco.py's reference
        # default (dedupe=False, the released sentences as written)
        dedupe=True))

test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(image_size, image_size), backend='pillow',
         interpolation='bicubic'),
    dict(type='PackInputs'),
]
test_dataloader = dict(
    batch_size=16,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(
        data_root=data_root,
        ann_file='annotations/instances_test.json',
        data_prefix=dict(img_path='images'),
        split_file='split.json',
        pipeline=test_pipeline))
tta_pipeline = test_pipeline
# Pinned to the demo's earlier behaviour (granzsl_coco.py now follows the
# reference: bilinear snippets, AMP where CUDA is present).
tta_model = dict(snippet_resize='bicubic')

# A short, higher-lr schedule (sum-reduced loss on small batches).
max_epochs = 5
optim_wrapper = dict(type='OptimWrapper', optimizer=dict(lr=2e-3))  # fp32
param_scheduler = [
    dict(type='ConstantLR', factor=0.1, begin=0, end=1, by_epoch=True),
    dict(type='MultiStepLR', milestones=[1], gamma=10.0, begin=0, end=2,
         by_epoch=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs, eta_min=0.0, begin=1,
         end=max_epochs, by_epoch=True),
]
train_cfg = dict(max_epochs=max_epochs)
default_hooks = dict(logger=dict(interval=5),
                     checkpoint=dict(interval=max_epochs, max_keep_ckpts=1))
