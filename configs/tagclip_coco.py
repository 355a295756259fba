# TagCLIP (Lin et al., AAAI 2024; linyq2117/TagCLIP): training-free
# local-to-global label scores from CLIP ViT-B/16's dense features, on
# MS-COCO 2014 val, all 80 classes (the reference's coco2014 setting; its
# repository cites 68.8 mAP). Nothing is trained or selected:
#   python tools/test.py configs/tagclip_coco.py none
# Score mode 'tagclip' of the zero-shot classifier
# (granzsl_mm/models/classifiers/tagclip_scores.py): per-patch softmax over
# the 80 classes and 23 background words (85 prompt templates), attention
# refinement, box refinement, max over patches, class-wise reweighting on a
# masked crop. Each image at its own size rounded up to a multiple of 16
# (batch size 1), as the reference. Differences from the reference:
# docs/training_free_baselines.md.
# Layout: data/coco/annotations/instances_val2014.json, data/coco/val2014/.
_base_ = ['_base_/default_runtime.py']

data_root = 'data/coco'
patch_size = 16

model = dict(
    _scope_='granzsl_mm',  # built in our scope by mmpretrain.get_model too
    type='ZeroShotMultiLabelClassifier',
    backbone=dict(type='OpenCLIPBackbone', arch='ViT-B-16',
                  pretrained='openai', frozen=True),
    # category-id order, in TagCLIP's spelling ('motorbike', 'tvmonitor')
    class_names='coco80_tagclip',
    templates='tagclip_85',
    score_mode='tagclip',
    tagclip=dict(background='coco'),
    logit_scale='clip',
    score_act='none',
    vocabulary='all',
    # CLIP's mean / std (0-255)
    data_preprocessor=dict(type='ClsDataPreprocessor',
                           mean=[122.770938, 116.7460125, 104.09373615],
                           std=[68.5005327, 66.6321579, 70.32316305],
                           to_rgb=True))

test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='ResizeToPatchMultiple', patch_size=patch_size,
         interpolation='bicubic'),
    dict(type='PackInputs'),
]
test_dataloader = dict(
    batch_size=1,  # images keep their own sizes
    num_workers=4,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='COCOMultiLabelDataset', data_root=data_root,
                 ann_file='annotations/instances_val2014.json',
                 data_prefix=dict(img_path='val2014'),
                 pipeline=test_pipeline))
test_evaluator = dict(type='ZSLMultiLabelMetric', label_sets=('multilabel', ),
                      topk=(3, ))
test_cfg = dict()
