# SPML with a CLIP image tower and a linear classifier, dataset-agnostic
# part: CLIP ViT-B/16 fine-tuned end to end (VLPL's CLIP-vision baseline, on
# SigRL's backbone), trained with entropy maximisation on the unknown labels
# plus VLPL's CLIP pseudo-labels (mode 'em_pl'). The model is MMPretrain's
# ImageClassifier with our OpenCLIPBackbone and SPMLLinearClsHead (which
# passes the pseudo-labels, `soft_targets`, to the loss). The leaves
# (spml_{coco,voc}_clip_linear.py) set num_classes, alpha and the
# pseudo-label file.
_base_ = ['schedules/spml_adam_10e.py']

image_size = 224

model = dict(
    # built in our scope whoever builds it (mmpretrain.get_model builds in
    # its own): mmengine's cross-library `_scope_` key
    _scope_='granzsl_mm',
    type='ImageClassifier',
    # CLIP's mean / std (0-255)
    data_preprocessor=dict(type='ClsDataPreprocessor',
                           mean=[122.770938, 116.7460125, 104.09373615],
                           std=[68.5005327, 66.6321579, 70.32316305],
                           to_rgb=True),
    backbone=dict(type='OpenCLIPBackbone', arch='ViT-B-16',
                  pretrained='openai', frozen=False, out_type='global'),
    head=dict(
        type='SPMLLinearClsHead', in_channels=512,
        # a pseudo-positive costs beta * (s log p + (1 - s) log(1 - p)) with
        # s = 0.9, beta = 0.7 (VLPL's EM_PL: beta_pos 0.7, 0.9 / 0.1 targets).
        loss=dict(type='SPMLLoss', mode='em_pl', beta=0.7)))

# VLPL's pseudo-labeller: frozen CLIP ViT-L/14 @ 336 px, bare class names as
# prompts, softmax(cos / T) with T = 0.01, positive above 0.3, and the rho * C
# lowest classes negative (rho = 0 on COCO and VOC in the reference). The
# leaves set `out_file`.
pseudo_label_cfg = dict(
    clip=dict(type='OpenCLIPBackbone', arch='ViT-L-14-336',
              pretrained='openai', frozen=True, out_type='global'),
    # VLPL's CLIP input: its ResNet-50's 448 px ImageNet-normalised tensor
    # (PIL bilinear resize), resized on the tensor to 336 (bilinear,
    # antialiased, torchvision's tensor Resize). CLIP's own input instead:
    # clip_pseudo_label_input below. See docs/spml.md.
    data_preprocessor=dict(type='ResizedClsDataPreprocessor', size=(336, 336),
                           mode='bilinear', antialias=True,
                           mean=[123.675, 116.28, 103.53],
                           std=[58.395, 57.12, 57.375], to_rgb=True),
    pipeline=[
        dict(type='LoadImageFromFile'),
        dict(type='Resize', scale=(448, 448), backend='pillow',
             interpolation='bilinear'),
        dict(type='PackInputs'),
    ],
    templates=['{}'],
    temperature=0.01,
    threshold=0.3,
    rho=0.0,
    positive_target=0.9,
    negative_target=0.0,
    batch_size=32,
    num_workers=4)
# CLIP's own preprocessing for the pseudo-labeller (one bicubic resize to
# 336, CLIP mean / std), not VLPL's: in a leaf,
# pseudo_label_cfg = dict(**clip_pseudo_label_input).
clip_pseudo_label_input = dict(
    data_preprocessor=dict(type='ClsDataPreprocessor',
                           mean=[122.770938, 116.7460125, 104.09373615],
                           std=[68.5005327, 66.6321579, 70.32316305],
                           to_rgb=True),
    pipeline=[
        dict(type='LoadImageFromFile'),
        dict(type='Resize', scale=(336, 336), backend='pillow',
             interpolation='bicubic'),
        dict(type='PackInputs'),
    ])

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(image_size, image_size), backend='pillow',
         interpolation='bicubic'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs', algorithm_keys=('soft_targets', )),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(image_size, image_size), backend='pillow',
         interpolation='bicubic'),
    dict(type='PackInputs'),
]

# The whole image tower is fine-tuned (as VLPL); CLIP's text tower is built
# but unused, so DDP must allow parameters without gradients.
model_wrapper_cfg = dict(type='MMDistributedDataParallel',
                         find_unused_parameters=True)
