# DualCoOp (NeurIPS 2022), partial-label setting, on MS-COCO 2014: each label
# of every train2014 image known with probability 0.5, shared positive and
# negative prompt contexts on a frozen CLIP RN101, tested on val2014, all 80
# classes. The recipe is sunxm2357/DualCoOp's (commit 49e71d7), its README's
# partial-label example, run with train.py:
#   python train.py --config_file configs/models/rn101_ep50.yaml
#       --dataset_config_file configs/datasets/coco.yaml
#       --input_size 448 --lr 0.002 --loss_w 0.03 -pp 0.5
# (no --csc). The rest as dualcoop_voc2007_partial.py (each value names its
# reference file there).
#   python tools/train.py configs/dualcoop_coco2014_partial.py
#   python tools/test.py configs/dualcoop_coco2014_partial.py \
#       work_dirs/dualcoop_coco2014_partial/epoch_50.pth
# Layout: data/coco/{train2014,val2014,annotations/instances_*2014.json}.
# Differences to the reference: docs/prompt_learning_comparators.md.
_base_ = ['dualcoop_voc2007_partial.py']

coco_root = 'data/coco'
num_classes = 80

model = dict(
    num_classes=num_classes,
    num_seen_classes=num_classes,
    # dataloaders/coco_detection.py classnames: COCO's 80 names
    class_names='coco80',
    # README example: no --csc (utils/build_cfg.py CSC False)
    class_specific=False,
    # README example: --loss_w 0.03
    loss=dict(loss_weight=0.03))

train_dataloader = dict(
    dataset=dict(
        # README example -pp 0.5
        known_proportion=0.5,
        # configs/datasets/coco.yaml TRAIN_SPLIT "train2014";
        # coco_detection.py: instances_train2014.json, the images with an
        # annotation (imgToAnns)
        dataset=dict(_delete_=True, type='COCOMultiLabelDataset',
                     data_root=coco_root,
                     ann_file='annotations/instances_train2014.json',
                     data_prefix=dict(img_path='train2014'),
                     empty_images='drop')))
# configs/datasets/coco.yaml TEST_SPLIT "val2014" (images with an annotation)
test_dataloader = dict(
    dataset=dict(_delete_=True, type='COCOMultiLabelDataset',
                 data_root=coco_root,
                 ann_file='annotations/instances_val2014.json',
                 data_prefix=dict(img_path='val2014'), empty_images='drop',
                 pipeline={{_base_.test_pipeline}}))

# README: "lr: 0.002 for MS-COCO"; the warm-up epoch stays at 1e-5
optim_wrapper = dict(optimizer=dict(lr=0.002))
param_scheduler = [
    dict(type='ConstantLR', factor=1e-5 / 0.002, by_epoch=True, begin=0,
         end=2),
    dict(type='CosineAnnealingLR', T_max=50, eta_min=0.0, by_epoch=True,
         begin=1, end=50),
]
