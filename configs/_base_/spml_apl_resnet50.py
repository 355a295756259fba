# Zhou et al. 2022's EM + APL ("Acknowledging the Unknown"), dataset-agnostic
# part: an ImageNet ResNet-50 at 448 px trained end to end (Cole et al.'s
# baseline model, _base_/spml_resnet50.py) with entropy maximisation on the
# unlabelled entries and asymmetric pseudo-labels: from the end of epoch
# `warmup_epoch` on, AsymmetricPseudoLabelHook scores the training set and
# gives the lowest-scored unlabelled entries of each class their score as a
# soft negative label (a label store served by the SPMLDataset as
# `soft_targets`); SPMLLoss(mode='apl') weights them by beta. Training stops
# at the first epoch whose validation mAP is not a new best (the
# reference's early stop). The leaves (spml_{voc,coco,nuswide,cub}_apl_
# resnet50.py) set num_classes, alpha, beta, the batch size, lr and the
# hook's warmup_epoch (the reference's main.py values).
_base_ = ['spml_resnet50.py']

# SPMLLinearClsHead: MMPretrain's linear multi-label head that also hands the
# samples' soft_targets to the loss.
model = dict(head=dict(type='SPMLLinearClsHead',
                       loss=dict(type='SPMLLoss', mode='apl')))

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(448, 448), backend='pillow'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs', algorithm_keys=('soft_targets', )),
]

# The reference scores every training image at each APL step: keep the
# train dataloader's default drop_last=False (the hook checks). The store is
# read by the dataloader workers through a memory-mapped file (see
# granzsl_mm/datasets/spml/apl_label_store.py), so num_workers > 0 is fine.

# The APL step and the reference's early stop (patience 1, any improvement
# counts), for the leaves' custom_hooks. They cannot be set here: the
# leaves' dataset base (spml_protocol.py, from default_runtime.py) already
# sets custom_hooks, mmengine refuses a key set by two bases of one config
# and replaces a list whole, and warmup_epoch is the dataset's. Each leaf
# writes, with its reference warm-up:
#   custom_hooks = _base_.custom_hooks + [
#       dict(_base_.apl_hook, warmup_epoch=5), _base_.early_stopping]
apl_hook = dict(type='AsymmetricPseudoLabelHook', neg_proportion=0.9)
early_stopping = dict(type='EarlyStoppingHook', monitor='mAP', rule='greater',
                      min_delta=0.0, patience=1)
