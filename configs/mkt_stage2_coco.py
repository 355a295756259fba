# MKT stage 2 on MS-COCO 48/17: prompt tuning of the context tokens of
# "There is a {} in the scene" with the stage-1 image encoder frozen
# (reference: train_nus_second_stage.py: AdamW lr 1e-3, wd 0.05, 4 epochs,
# no warm-up, cosine to 1e-8, batch 64, mixed precision -> pass --amp).
#   python tools/train.py configs/mkt_stage2_coco.py --amp \
#       --cfg-options load_from=work_dirs/mkt_coco/epoch_20.pth
_base_ = ['mkt_coco.py']

model = dict(
    type='MKTPromptTuning',
    backbone=dict(trainable_blocks_from=None, frozen=True),
    prompt_template='There is a {} in the scene',
    distill_loss=None)

# The stage-1 checkpoint (its image-encoder keys match; the learned context
# starts from CLIP's token embeddings, so the checkpoint may lack it).
load_from = 'work_dirs/mkt_coco/epoch_20.pth'
custom_hooks = [
    dict(type='RNGStateHook'),
    dict(type='SafeFormHook'),
    dict(type='CheckpointFitHook', missing_ok=['prompt_learner.']),
]

optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=1e-3, weight_decay=0.05,
                   betas=(0.9, 0.999), eps=1e-8))
param_scheduler = [
    dict(type='CosineAnnealingLR', eta_min=1e-8, by_epoch=True, begin=0,
         end=4, convert_to_iter_based=True),
]
train_cfg = dict(by_epoch=True, max_epochs=4)
