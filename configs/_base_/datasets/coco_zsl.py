# MS-COCO 2014, 48 seen / 17 unseen classes (Bansal et al. split), for the
# image-trained zero-shot methods (MKT, SigRL, ...). Layout (see
# docs/datasets.md):
#   data/coco/train2014/, data/coco/val2014/, data/coco/cls_ids.pickle
#   data/coco/annotations/instances_train2014_seen_48_17.json  (rebuilt by
#       tools/dataset_converters/coco_zsl.py from instances_train2014.json)
#   data/coco/annotations/instances_val2014_gzsi_48_17.json    (released)
#   data/coco/annotations/instances_val2014_unseen_48_17.json  (released)
# Label order: 48 seen then 17 unseen; gt_score in {1, 0, -1}.
_base_ = ['coco_zsl_test.py']  # data_root, split_file, image_size, test set

dataset_type = 'COCOZSLDataset'

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomResizedCrop', scale=_base_.image_size, backend='pillow',
         interpolation='bicubic'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]

train_dataloader = dict(
    batch_size=32,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=_base_.data_root,
        ann_file='annotations/instances_train2014_seen_48_17.json',
        data_prefix=dict(img_path='train2014'),
        split_file=_base_.split_file,
        label_set='seen',
        empty_images='drop',
        pipeline=train_pipeline))

# GZSL test set (65 labels); ZSLMultiLabelMetric scores ZSL (unseen slice)
# and GZSL in one pass.
test_dataloader = dict(persistent_workers=False)
test_evaluator = dict(type='ZSLMultiLabelMetric', topk=(3, 5))

# The papers' separate ZSL test set (17 labels), e.g.
#   test_dataloader = zsl_test_dataloader
zsl_test_dataloader = dict(
    _base_.test_dataloader,
    persistent_workers=False,
    dataset=dict(
        _base_.test_dataloader['dataset'],
        ann_file='annotations/instances_val2014_unseen_48_17.json',
        label_set='unseen'))
