# Cole et al. 2021's single-positive baseline, dataset-agnostic part: an
# ImageNet ResNet-50 trained end to end with the 'assume negative' (AN) loss.
# The model is MMPretrain's own ImageClassifier + ResNet +
# MultiLabelLinearClsHead (stock head); only the loss is ours: SPMLLoss takes
# the stock head's logits and gt_score (-1 = unknown) and applies the sigmoid
# itself. The leaves (spml_{coco,voc}_resnet50.py) set num_classes and alpha.
_base_ = ['schedules/spml_adam_10e.py']

image_size = 448  # the reference resizes to 448 x 448

model = dict(
    # built in our scope whoever builds it (mmpretrain.get_model builds in
    # its own): mmengine's cross-library `_scope_` key
    _scope_='granzsl_mm',
    type='ImageClassifier',
    # ImageNet's mean / std (0-255)
    data_preprocessor=dict(type='ClsDataPreprocessor',
                           mean=[123.675, 116.28, 103.53],
                           std=[58.395, 57.12, 57.375], to_rgb=True),
    backbone=dict(
        type='ResNet', depth=50, num_stages=4, out_indices=(3, ),
        style='pytorch',
        init_cfg=dict(
            type='Pretrained', prefix='backbone',
            checkpoint='https://download.openmmlab.com/mmclassification/v0/'
            'resnet/resnet50_8xb32_in1k_20210831-ea4938fc.pth')),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(type='MultiLabelLinearClsHead', in_channels=2048,
              loss=dict(type='SPMLLoss', mode='an')))

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(image_size, image_size), backend='pillow'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(image_size, image_size), backend='pillow'),
    dict(type='PackInputs'),
]
