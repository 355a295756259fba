# SigLIP zero-shot multi-label baseline on MS-COCO 2014, 48 seen / 17 unseen:
# open_clip's ViT-B-16-SigLIP (tag 'webli'), a timm image tower with an
# attention-pool (MAP) head, trained with the sigmoid loss. Every label is
# scored on its own: sigmoid(s * cos + b) with the model's learned scale s and
# bias b; no softmax anywhere (not over classes, not over patches).
#   python tools/test.py configs/siglip_zeroshot_coco.py none
# Needs the 'webli' weights and SigLIP's tokenizer (open_clip loads it with
# Hugging Face `transformers` from timm/ViT-B-16-SigLIP; both are downloaded
# once on a machine with internet, or pass local files).
# Preprocessing from open_clip's metadata of ViT-B-16-SigLIP / 'webli':
# 224 px, bicubic, squash (no crop), mean = std = 0.5 (tested against
# open_clip.get_pretrained_cfg). Variants: model.score_mode='both' with
# model.backbone.dense_mode='plain' and model.local_pooling='topk' (dense
# patches through the MAP head's value path; the top-k mean, no softmax).
# See docs/training_free_baselines.md.
_base_ = ['clip_zeroshot_coco.py']

model = dict(
    backbone=dict(_delete_=True, type='SigLIPBackbone',
                  arch='ViT-B-16-SigLIP', pretrained='webli', dense_mode=None,
                  frozen=True),
    score_mode='global',
    local_pooling='topk',
    logit_scale='clip',
    logit_bias='clip',
    score_act='sigmoid',
    # SigLIP's mean / std (0.5, 0-255)
    data_preprocessor=dict(_delete_=True, type='ClsDataPreprocessor',
                           mean=[127.5, 127.5, 127.5],
                           std=[127.5, 127.5, 127.5], to_rgb=True))
