# SigRL (ICME 2025) on NUS-WIDE, 925 seen / 81 unseen: MKT stage 1 with the
# GMC (GATv2 over the label embeddings) + semantic decoupling + bridging +
# SVFR local head. Recipe of the reference (OV/train_nus.py): AdamW lr 1e-4,
# wd 0.05, layer decay 0.65, 20 epochs (2 warm-up), cosine to 1e-7, batch
# 32, 224 px, RandAugment rand-m9-mstd0.5-inc1, bicubic.
#   python tools/train.py configs/sigrl_nuswide.py [--amp]
#   python tools/test.py configs/sigrl_nuswide.py \
#       work_dirs/sigrl_nuswide/epoch_20.pth
_base_ = ['mkt_nuswide.py']

model = dict(
    type='SigRL',
    head=dict(
        type='SigRLHead',
        dim=512,
        # GMC: 512 -> 4 heads x 32 (concat, 128) -> ELU -> 1 head -> 512
        gmc=dict(type='GATv2', in_features=512, hidden_features=128,
                 out_features=512, num_heads=4, dropout=0.3,
                 share_weights=True, chunk_size=128),
        # labels per chunk of the [B, P, C, D] attention (memory bound;
        # the result does not depend on it)
        chunk_size=64))

train_dataloader = dict(batch_size=32, drop_last=False)  # as OV/train_nus.py
test_dataloader = dict(batch_size=32)

optim_wrapper = dict(optimizer=dict(lr=1e-4))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, end_factor=1.0, by_epoch=True,
         begin=0, end=2, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', eta_min_ratio=1e-3, by_epoch=True,
         begin=2, end=20, convert_to_iter_based=True),
]
auto_scale_lr = dict(base_batch_size=32)
