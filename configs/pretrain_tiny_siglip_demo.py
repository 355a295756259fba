# SigLIP-style pre-training of the tiny world tower: the contrastive
# pre-training of pretrain_tiny_clip_demo.py (same data, pipeline,
# optimizer, schedule, iterations and seed) with SigLIP's pairwise sigmoid
# loss (open_clip's SigLipLoss) instead of CLIP's InfoNCE. The architecture
# 'TinyCLIP-world-sigmoid' is TinyCLIP-world with SigLIP's learned logit
# bias (initialised to -10) and temperature (initialised to log 10), as
# open_clip's training sets them for --siglip: only the loss differs.
#   python tools/make_demo_data.py
#   python tools/pretrain_tiny_clip.py configs/pretrain_tiny_siglip_demo.py
# writes data/demo/tiny_siglip.pt, a plain open_clip state dict with its
# logit_bias:
#   OpenCLIPBackbone(arch='TinyCLIP-world-sigmoid',
#                    pretrained='data/demo/tiny_siglip.pt')
_base_ = ['pretrain_tiny_clip_demo.py']

model = dict(arch='TinyCLIP-world-sigmoid', loss='siglip')

# open_clip trains the bias without weight decay (as the temperature)
optim_wrapper = dict(paramwise_cfg=dict(
    custom_keys={'logit_bias': dict(decay_mult=0.0)}))
custom_hooks = [
    dict(type='RNGStateHook'),
    dict(type='ExportOpenCLIPHook', out_file='data/demo/tiny_siglip.pt'),
]
