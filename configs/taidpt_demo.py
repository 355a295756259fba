# TaI-DPT on the synthetic proving-ground world (CPU, about a minute): the
# recipe of taidpt_coco.py on the world's tiny CLIP (TinyCLIP-world, a ViT:
# global = its CLS embedding, local = its projected patch tokens), trained on
# the world's captions alone (those of annotations/captions_pretrain.json
# that name a seen class by its words), scored on the world's test images,
# unseen (ZSL) and all (GZSL) classes.
#   python tools/make_demo_data.py
#   python tools/pretrain_tiny_clip.py configs/pretrain_tiny_clip_demo.py
#   python tools/train.py configs/taidpt_demo.py
#   python tools/test.py configs/taidpt_demo.py work_dirs/taidpt_demo/epoch_2.pth
# Without data/demo/tiny_clip.pt (written by `make demo`) the tools stop.
_base_ = ['taidpt_coco.py']

data_root = 'data/demo'
split_file = 'split.json'
image_size = 48  # TinyCLIP-world's input size (the world is drawn at 64 px)
# The world's 26 classes: 21 seen, 5 unseen, seen first.
num_classes, num_seen_classes = 26, 21

model = dict(
    backbone=dict(arch='TinyCLIP-world', pretrained='data/demo/tiny_clip.pt'),
    num_classes=num_classes,
    num_seen_classes=num_seen_classes,  # captions name seen classes only
    class_names=data_root + '/' + split_file,  # seen then unseen
    # the tiny CLIP's text context is 32 tokens: 8 instead of 16
    num_context_tokens=8)

# The world's captions, matched to the seen class names (the world has no
# synonym lists); its unseen classes are unknown in every item
train_dataloader = dict(
    batch_size=128,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(data_root=data_root,
                 ann_file='annotations/captions_pretrain.json',
                 class_names=None, split_file=split_file,  # its seen first
                 synonyms=None))
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(image_size, image_size), backend='pillow',
         interpolation='bicubic'),
    dict(type='PackInputs'),
]
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
test_evaluator = dict(type='ZSLMultiLabelMetric', topk=(3, 5),
                      label_sets=('zsl', 'gzsl'))

# SGD as the recipe, at lr 2e-5 for 2 epochs (batch 128) instead of 1e-4
# for 20 (batch 512): chosen on validation images (150 of a world with this
# world's classes and rules, its own seeds 7 / 1007, 4000 training images'
# captions, this tiny CLIP) among 2e-4 / 2e-3 / 2e-2 over 4 epochs, then
# 2e-5 / 6e-5 / 2e-4 / 6e-4 over 2 (docs/prompt_learning_comparators.md).
# Every candidate lies within 2.7 points (mean of ZSL and GZSL mAP).
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
