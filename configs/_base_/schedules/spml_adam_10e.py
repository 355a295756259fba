# The SPML end-to-end recipe (Cole et al. 2021; VLPL): Adam, lr 1e-5, batch 8
# (set by _base_/spml_protocol.py), 10 epochs, constant lr, best epoch by
# validation mAP. (Cole et al. choose lr and batch size by validation mAP from
# {1e-2 .. 1e-5} x {8, 16}.)
optim_wrapper = dict(type='OptimWrapper',
                     optimizer=dict(type='Adam', lr=1e-5))
param_scheduler = []
train_cfg = dict(by_epoch=True, max_epochs=10, val_interval=1)
