# CLIP zero-shot multi-label baseline on MS-COCO 2014, 48 seen / 17 unseen.
# Nothing is trained: every class is the prompt-template ensemble of its name
# (80 OpenAI ImageNet templates), scored by cosine with the image (logit scale
# = CLIP's learned temperature, raw scores, no softmax over the classes).
# One pass scores all 65 classes: the metric reports ZSL (17) and GZSL (65).
#   python tools/test.py configs/clip_zeroshot_coco.py none  # nothing to load
#   python tools/infer.py configs/clip_zeroshot_coco.py photos/ --vocab coco80
# Variants: model.score_mode='both' (+ local ClearCLIP evidence pooled by a
# spatial softmax, as GranZSL) or local_pooling='topk' (MKT's top-k patches);
# model.vocabulary_file=<names.pt> uses learned class names (GranZSL).
# Test set (GZSL, 65 labels) and its pipeline: _base_/datasets/coco_zsl_test.py.
# Label order = the dataset's: seen (category-id order), then unseen: the
# class list 'coco48_17' (granzsl_mm.structures.class_lists.CLASS_LISTS).
_base_ = ['_base_/default_runtime.py', '_base_/datasets/coco_zsl_test.py']

model = dict(
    # built in our scope whoever builds it (mmpretrain.get_model builds in
    # its own): mmengine's cross-library `_scope_` key
    _scope_='granzsl_mm',
    type='ZeroShotMultiLabelClassifier',
    backbone=dict(type='OpenCLIPBackbone', arch='ViT-B-16',
                  pretrained='openai', dense_mode='clearclip', frozen=True),
    class_names='coco48_17',
    num_seen_classes=48,
    templates='openai_imagenet_80',
    score_mode='global',
    local_pooling='softmax',
    topk_patches=1,
    logit_scale='clip',
    score_act='none',
    vocabulary='all',
    # CLIP's mean / std (0-255)
    data_preprocessor=dict(type='ClsDataPreprocessor',
                           mean=[122.770938, 116.7460125, 104.09373615],
                           std=[68.5005327, 66.6321579, 70.32316305], to_rgb=True))

test_evaluator = dict(type='ZSLMultiLabelMetric', topk=(3, 5))
test_cfg = dict()

# Snippet test-time aggregation (tools/test.py --tta; needs
# score_mode='both' or 'local'): grids 2x2 and 3x3 as GranZSL.
tta_model = dict(type='SnippetTTAModel', grids=(2, 3))
tta_pipeline = {{_base_.test_pipeline}}
