# SigRL on the synthetic proving-ground world (CPU, about a minute): the
# recipe of sigrl_coco.py on the world's tiny CLIP and data of mkt_demo.py
# (TinyCLIP-world, 64-d joint space, 48 px, the world's seen labels).
#   python tools/train.py configs/sigrl_demo.py
#   python tools/test.py configs/sigrl_demo.py work_dirs/sigrl_demo/epoch_2.pth
# tools/run_demo.py does all of this; the tiny CLIP, data/demo/tiny_clip.pt,
# is mkt_demo.py's (written by `make demo`).
_base_ = ['mkt_demo.py']

embed_dim = 64  # TinyCLIP-world's joint space (ViT-B/16: 512)
model = dict(
    type='SigRL',
    head=dict(
        type='SigRLHead',
        dim=embed_dim,
        # GMC scaled with the joint space (/8): 4 heads x 4 (512: 4 x 32)
        gmc=dict(type='GATv2', in_features=embed_dim, hidden_features=16,
                 out_features=embed_dim, num_heads=4, dropout=0.3,
                 share_weights=True, chunk_size=None),
        chunk_size=None))

train_dataloader = dict(batch_size=32, drop_last=False)  # as sigrl_coco.py
test_dataloader = dict(batch_size=32)

# A tenth of mkt_demo.py's lr, as sigrl_coco.py's 1e-4 to mkt_coco.py's 1e-3
# (2e-2 measured lower on the first demo world's test images; on the evidence
# world tools/run_demo.py picks it from 1e-4 / 2e-3 / 2e-2 on validation
# images, see docs/demo.md); mkt_demo.py's short
# schedule: a quarter-epoch warm-up, cosine over 2 epochs.
optim_wrapper = dict(optimizer=dict(lr=2e-3))
max_epochs = 2
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, end_factor=1.0, by_epoch=True,
         begin=0, end=0.25, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', eta_min_ratio=1e-3, by_epoch=True,
         begin=0.25, end=max_epochs, convert_to_iter_based=True),
]
auto_scale_lr = dict(base_batch_size=32)
