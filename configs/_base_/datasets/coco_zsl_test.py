# MS-COCO 2014 GZSL test set (48 seen / 17 unseen classes, 65 labels; the
# released instances_val2014_gzsi_48_17.json), shared by the COCO zero-shot
# configs (GranZSL, CLIP zero-shot, MKT, SigRL). ZSLMultiLabelMetric scores
# ZSL (unseen slice) and GZSL in one pass; the leaves set the evaluator.
# A leaf that changes `test_pipeline` or `data_root` must set them in
# `test_dataloader.dataset` too (a base is resolved before its leaves).
data_root = 'data/coco'
split_file = 'cls_ids.pickle'  # the papers' 48/17 split (or our split json)
image_size = 224

test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(image_size, image_size), backend='pillow',
         interpolation='bicubic'),
    dict(type='PackInputs'),
]
test_dataloader = dict(
    batch_size=32,
    num_workers=4,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type='COCOZSLDataset',
        data_root=data_root,
        ann_file='annotations/instances_val2014_gzsi_48_17.json',
        data_prefix=dict(img_path='val2014'),
        split_file=split_file,
        label_set='all',
        pipeline=test_pipeline))
