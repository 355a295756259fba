# Cole et al. 2021's single-positive baseline on NUS-WIDE (81 concepts): an
# ImageNet ResNet-50 trained end to end with the 'assume negative' (AN) loss
# (model, pipelines and optimiser: _base_/spml_resnet50.py). Switch the loss
# to mode='em' (alpha 0.1 on NUS-WIDE) for entropy maximisation (Zhou et
# al.); EM + APL: spml_nuswide_apl_resnet50.py.
#   python tools/train.py configs/spml_nuswide_resnet50.py
#   python tools/test.py configs/spml_nuswide_resnet50.py \
#       work_dirs/spml_nuswide_resnet50/best_mAP_epoch_*.pth
_base_ = ['_base_/spml_nuswide.py', '_base_/spml_resnet50.py']

model = dict(head=dict(num_classes={{_base_.num_classes}},
                       loss=dict(alpha=0.1)))

train_dataloader = dict(dataset=dict(pipeline={{_base_.train_pipeline}}))
val_dataloader = dict(dataset=dict(pipeline={{_base_.test_pipeline}}))
test_dataloader = dict(dataset=dict(pipeline={{_base_.test_pipeline}}))
