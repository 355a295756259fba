# NUS-WIDE, 925 seen tags / 81 unseen concepts (1006 GZSL labels), for the
# image-trained zero-shot methods (MKT, SigRL, ...). Layout (see
# docs/datasets.md):
#   data/nus_wide/Flickr/<folder>/<image>.jpg   (downloaded images)
#   data/nus_wide/ImageList/, NUS_WID_Tags/, ConceptsList/,
#       Groundtruth/AllLabels/                   (official metadata)
#   data/nus_wide/test_seen_labels.pkl, test_unseen_labels.pkl  (papers')
# Many Flickr URLs are dead: missing images fail the build with their count
# and examples unless bad_images='skip' (they are then counted and left out;
# the training set below skips them).
dataset_type = 'NUSWideZSLDataset'
data_root = 'data/nus_wide'
image_size = 224

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomResizedCrop', scale=image_size, backend='pillow',
         interpolation='bicubic'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(image_size, image_size), backend='pillow',
         interpolation='bicubic'),
    dict(type='PackInputs'),
]

train_dataloader = dict(
    batch_size=32,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        split='train',
        labels_from='metadata',
        label_set='seen',
        empty_images='drop',
        bad_images='skip',
        data_prefix=dict(img_path='Flickr'),
        pipeline=train_pipeline))

# The papers' test set: their pickles (0 = unknown kept as -1). Strict:
# missing test images fail the build (bad_images='skip' evaluates on the
# images present, and the log gives the count left out).
test_dataloader = dict(
    batch_size=32,
    num_workers=4,
    persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        labels_from='pickles',
        label_set='all',
        data_prefix=dict(img_path='Flickr'),
        pipeline=test_pipeline))
test_evaluator = dict(type='ZSLMultiLabelMetric', topk=(3, 5))
