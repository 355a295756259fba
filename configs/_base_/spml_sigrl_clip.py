# SigRL (ICME 2025) for single-positive multi-label learning, dataset-
# agnostic part (the reference's SPML/ branch): the SigRL model in SPML mode.
# CLIP ViT-B/16 with the whole image tower fine-tuned; every class is "seen"
# and scored as in the zero-shot branch (GMC over the label embeddings,
# semantic decoupling, SVFR local score + global score, each L2-normalised
# across the classes, averaged); the loss is entropy maximisation on the
# unknown labels plus VLPL's CLIP pseudo-labels (SPMLLoss mode 'em_pl') on
# sigmoid(s * score) with s = 1, fixed, as the reference (see docs/spml.md).
# No ranking or distillation loss (the reference trains SPML with the SPML
# loss only). Pseudo-labeller and optimiser: spml_clip_linear.py (VLPL's
# recipe: Adam 1e-5, batch 8, 10 epochs, best epoch by validation mAP). The
# leaves (spml_{coco,voc}_sigrl_clip.py) set the classes, alpha and the
# pseudo-label file.
_base_ = ['spml_clip_linear.py']

model = dict(
    # built in our scope whoever builds it (mmpretrain.get_model builds in
    # its own): mmengine's cross-library `_scope_` key
    _scope_='granzsl_mm',
    _delete_=True,
    type='SigRL',
    # the reference's SPML data normalises with ImageNet's mean / std and
    # resizes bilinearly (to 448, then the batch to 224 for CLIP; here once
    # to 224)
    data_preprocessor=dict(type='ClsDataPreprocessor',
                           mean=[123.675, 116.28, 103.53],
                           std=[58.395, 57.12, 57.375], to_rgb=True),
    # frozen=False: the whole image tower trains (the text tower stays
    # frozen: MKT / SigRL always keep the label embeddings fixed)
    backbone=dict(type='OpenCLIPBackbone', arch='ViT-B-16',
                  pretrained='openai', dense_mode='plain', frozen=False),
    # the reference's '*_labelonly' text features: bare class names
    template='{}',
    topk=16,
    head=dict(
        type='SigRLHead',
        dim=512,
        gmc=dict(type='GATv2', in_features=512, hidden_features=128,
                 out_features=512, num_heads=4, dropout=0.3,
                 share_weights=True, chunk_size=None),
        chunk_size=None),
    rank_loss=None,
    distill_loss=None,
    # a pseudo-positive costs beta * (s log p + (1 - s) log(1 - p)) with
    # s = 0.9, beta = 0.7 (VLPL's EM_PL: beta_pos 0.7, 0.9 / 0.1 targets).
    spml_loss=dict(type='SPMLLoss', mode='em_pl', beta=0.7),
    # logits = score_scale * score; 1 and fixed as the reference's
    # sigmoid(score) (learnable_score_scale=True learns it, CLIP-style)
    score_scale=1.0,
    learnable_score_scale=False,
    label_set='gzsl')

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(224, 224), backend='pillow',
         interpolation='bilinear'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs', algorithm_keys=('soft_targets', )),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(224, 224), backend='pillow',
         interpolation='bilinear'),
    dict(type='PackInputs'),
]

# Every trainable parameter gets a gradient (the text tower is frozen).
model_wrapper_cfg = dict(type='MMDistributedDataParallel',
                         find_unused_parameters=False)
