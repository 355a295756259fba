# Zhou et al. 2022's EM + APL on CUB-200-2011 (312 attributes) (model,
# pipelines, optimiser: _base_/spml_apl_resnet50.py; see docs/spml.md). The
# reference's CUB values (main.py): batch 8, lr 1e-4, alpha 0.01, beta 0.4,
# warmup_epoch 3, neg_proportion 0.9, 10 epochs.
#   python tools/train.py configs/spml_cub_apl_resnet50.py
#   python tools/test.py configs/spml_cub_apl_resnet50.py \
#       work_dirs/spml_cub_apl_resnet50/best_mAP_epoch_*.pth
_base_ = ['_base_/spml_cub.py', '_base_/spml_apl_resnet50.py']

model = dict(head=dict(num_classes={{_base_.num_classes}},
                       loss=dict(alpha=0.01, beta=0.4)))
optim_wrapper = dict(optimizer=dict(lr=1e-4))

train_dataloader = dict(batch_size=8,
                        dataset=dict(pipeline={{_base_.train_pipeline}}))
val_dataloader = dict(dataset=dict(pipeline={{_base_.test_pipeline}}))
test_dataloader = dict(dataset=dict(pipeline={{_base_.test_pipeline}}))

# _base_/default_runtime.py's hooks, then _base_/spml_apl_resnet50.py's
# APL step (labelling from the end of epoch 3) and early stop
custom_hooks = _base_.custom_hooks + [
    dict(_base_.apl_hook, warmup_epoch=3), _base_.early_stopping]
