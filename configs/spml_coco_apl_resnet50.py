# Zhou et al. 2022's EM + APL on MS-COCO 2014 (model, pipelines,
# optimiser: _base_/spml_apl_resnet50.py; see docs/spml.md). The
# reference's COCO values (main.py): batch 16, lr 1e-5, alpha 0.1, beta 0.9,
# warmup_epoch 5, neg_proportion 0.9, 10 epochs.
#   python tools/train.py configs/spml_coco_apl_resnet50.py
#   python tools/test.py configs/spml_coco_apl_resnet50.py \
#       work_dirs/spml_coco_apl_resnet50/best_mAP_epoch_*.pth
_base_ = ['_base_/spml_coco.py', '_base_/spml_apl_resnet50.py']

model = dict(head=dict(num_classes={{_base_.num_classes}},
                       loss=dict(alpha=0.1, beta=0.9)))
optim_wrapper = dict(optimizer=dict(lr=1e-5))

train_dataloader = dict(batch_size=16,
                        dataset=dict(pipeline={{_base_.train_pipeline}}))
val_dataloader = dict(dataset=dict(pipeline={{_base_.test_pipeline}}))
test_dataloader = dict(dataset=dict(pipeline={{_base_.test_pipeline}}))

# _base_/default_runtime.py's hooks, then _base_/spml_apl_resnet50.py's
# APL step (labelling from the end of epoch 5) and early stop
custom_hooks = _base_.custom_hooks + [
    dict(_base_.apl_hook, warmup_epoch=5), _base_.early_stopping]
