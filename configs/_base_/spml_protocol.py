# Single-positive multi-label (SPML) protocol shared by the SPML datasets
# (_base_/spml_coco.py, _base_/spml_voc.py), as in Cole et al. 2021
# (reference code: elijahcole/single-positive-multi-label): train / val = a
# seeded 80 / 20 split (seed 1200) of the official training images; one
# positive per training image, chosen uniformly at random (seed 1200), every
# other label unknown (-1); validation with full labels (the reference's
# default, 'clean'); test = the official validation images, full labels.
# The dataset configs set the wrapped dataset; the model configs set the
# pipelines.
_base_ = ['default_runtime.py']

spml_protocol = dict(val_fraction=0.2, split_seed=1200, label_seed=1200,
                     num_positives=1)

train_dataloader = dict(
    batch_size=8,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(type='SPMLDataset', split='train', **spml_protocol))
val_dataloader = dict(
    batch_size=32,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='SPMLDataset', split='val', val_labels='full',
                 **spml_protocol))
test_dataloader = dict(
    batch_size=32,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='SPMLDataset', split='test'))

# mAP (model selection: the best validation mAP, as the reference) and the
# per-image precision img_P@1 / img_P@3 over all classes.
val_evaluator = dict(type='ZSLMultiLabelMetric', label_sets=('multilabel', ),
                     topk=(1, 3))
test_evaluator = val_evaluator
val_cfg = dict()
test_cfg = dict()
default_hooks = dict(checkpoint=dict(type='CheckpointHook', interval=1,
                                     max_keep_ckpts=1, save_best='mAP',
                                     rule='greater'))
