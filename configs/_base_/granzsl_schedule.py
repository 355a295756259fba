# GranZSL training recipe (the paper's): SGD lr 1e-4, momentum 0.9, weight
# decay 5e-4, 30 epochs; the first epoch at a constant lr of 1e-5, then cosine
# annealing with T_max = 30 epochs, stepped per epoch (the reference's
# constant-warm-up scheduler: epoch k >= 1 uses lr * (1 + cos(pi*(k-1)/30)) / 2).
# mmengine's ConstantLR does not restore the lr when its range ends, hence the
# x10 step at epoch 1; tests/configs check the lr of every epoch.
# Mixed precision as in the reference: the paper configs (granzsl_coco.py)
# use AmpIfCudaOptimWrapper (AMP on CUDA, fp32 on CPU); no --amp needed.
max_epochs = 30
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=1e-4, momentum=0.9, weight_decay=5e-4))
param_scheduler = [
    dict(type='ConstantLR', factor=0.1, begin=0, end=1, by_epoch=True),
    dict(type='MultiStepLR', milestones=[1], gamma=10.0, begin=0, end=2,
         by_epoch=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs, eta_min=0.0, begin=1,
         end=max_epochs, by_epoch=True),
]
# Model selection: the final epoch (no validation loop). See
# granzsl_coco_select_on_val.py / granzsl_coco_select_on_test.py.
train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=1)
val_dataloader = None
val_cfg = None
val_evaluator = None
test_cfg = dict()
