# Contrastive pre-training of the tiny open_clip model 'TinyCLIP-world' on the
# synthetic world's image-caption pairs (CPU, a few minutes on 2 cores).
#   python tools/make_demo_data.py
#   python tools/pretrain_tiny_clip.py configs/pretrain_tiny_clip_demo.py
# writes data/demo/tiny_clip.pt, a plain open_clip state dict:
#   OpenCLIPBackbone(arch='TinyCLIP-world', pretrained='data/demo/tiny_clip.pt')
_base_ = ['_base_/default_runtime.py']

data_root = 'data/demo'
arch = 'TinyCLIP-world'
image_size = 48  # TinyCLIP-world's input size (the world is drawn at 64 px)

model = dict(
    # built in our scope whoever builds it (mmpretrain.get_model builds in
    # its own): mmengine's cross-library `_scope_` key
    _scope_='granzsl_mm',
    type='ContrastiveCLIP',
    arch=arch,
    pretrained='random',  # pre-trained from scratch
    # CLIP's mean / std (0-255)
    data_preprocessor=dict(type='ClsDataPreprocessor',
                           mean=[122.770938, 116.7460125, 104.09373615],
                           std=[68.5005327, 66.6321579, 70.32316305], to_rgb=True))

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(image_size, image_size), backend='pillow',
         interpolation='bicubic'),
    # captions never say left / right: flips keep every caption true
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs', algorithm_keys=['caption']),
]
train_dataloader = dict(
    batch_size=128,
    num_workers=1,  # decode the next batch while the model trains
    persistent_workers=True,
    drop_last=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type='ImageCaptionDataset',
        data_root=data_root,
        ann_file='annotations/captions_pretrain.json',
        data_prefix=dict(img_path='images'),
        pipeline=train_pipeline))

# AdamW as open_clip trains; no weight decay on gains, biases, temperature.
max_iters = 300
warmup_iters = 50
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=2e-3, betas=(0.9, 0.98), eps=1e-6,
                   weight_decay=0.1),
    paramwise_cfg=dict(norm_decay_mult=0.0, bias_decay_mult=0.0,
                       custom_keys={'logit_scale': dict(decay_mult=0.0),
                                    'positional_embedding':
                                    dict(decay_mult=0.0),
                                    'class_embedding': dict(decay_mult=0.0)}),
    clip_grad=dict(max_norm=1.0))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0,
         end=warmup_iters),
    dict(type='CosineAnnealingLR', T_max=max_iters - warmup_iters,
         eta_min=0.0, by_epoch=False, begin=warmup_iters, end=max_iters),
]
train_cfg = dict(by_epoch=False, max_iters=max_iters)
val_dataloader = val_cfg = val_evaluator = None
test_dataloader = test_cfg = test_evaluator = None

default_hooks = dict(
    logger=dict(type='LoggerHook', interval=50),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=max_iters,
                    max_keep_ckpts=1))
custom_hooks = [
    dict(type='RNGStateHook'),
    dict(type='ExportOpenCLIPHook', out_file=data_root + '/tiny_clip.pt'),
]
log_processor = dict(by_epoch=False)
randomness = dict(seed=0, deterministic=False)
