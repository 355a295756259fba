# SigRL (ICME 2025) on MS-COCO 2014, 48 seen / 17 unseen: the NUS-WIDE
# recipe of the reference (see sigrl_nuswide.py) on the COCO data of
# mkt_coco.py.
#   python tools/train.py configs/sigrl_coco.py [--amp]
#   python tools/test.py configs/sigrl_coco.py work_dirs/sigrl_coco/epoch_20.pth
_base_ = ['mkt_coco.py']

model = dict(
    type='SigRL',
    head=dict(
        type='SigRLHead',
        dim=512,
        gmc=dict(type='GATv2', in_features=512, hidden_features=128,
                 out_features=512, num_heads=4, dropout=0.3,
                 share_weights=True, chunk_size=None),
        chunk_size=None))  # 65 classes: the attention fits whole

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
