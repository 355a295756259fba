# MKT stage 1 (AAAI 2023) on Open Images v4, 7,186 seen / 400 unseen classes
# (ZSL: 400, GZSL: 7,586; the BiAM / LESA split).
#   python tools/train.py configs/mkt_openimages.py [--amp]
#   python tools/test.py configs/mkt_openimages.py \
#       work_dirs/mkt_openimages/epoch_20.pth
# Hyper-parameters: the reference code (github sunanhe/MKT) has no Open
# Images script or setting (only train_nus_first_stage.py /
# train_nus_second_stage.py, for NUS-WIDE), so this config keeps the
# NUS-WIDE values of mkt_coco.py / mkt_nuswide.py, all from
# train_nus_first_stage.py's defaults: epochs 20, warmup_epochs 2, lr 1e-3,
# min_lr 1e-6, weight_decay 0.05, batch-size 64, input_size 224,
# layer_decay 0.65, fix_layer 10, topk 16, seed 42. Only the data (classes,
# datasets, BiAM's evaluation protocol) is Open Images'.
# Layout (see docs/datasets.md and configs/clip_zeroshot_openimages.py):
#   data/openimages/2018_04/ (or the root): class-descriptions.csv,
#       classes-trainable.txt, unseen_labels.pkl, top_400_unseen.csv,
#       train/train-annotations-human-imagelabels.csv,
#       test/test-annotations-human-imagelabels.csv
#   data/openimages/{train,test}/<ImageID>.jpg         (downloaded images)
#   data/openimages/openimages_zsl_{train,test}.json, split_7186_400.json:
#     python tools/dataset_converters/openimages_zsl.py data/openimages \
#         --out-dir data/openimages --splits train test
_base_ = ['mkt_coco.py']

data_root = 'data/openimages'
num_classes, num_seen_classes = 7586, 7186

# Label order of OpenImagesZSLDataset: classes-trainable.txt, then
# top_400_unseen.csv; the split file's seen / unseen hold the dataset's
# (unique) display names in that order.
model = dict(
    num_classes=num_classes,
    num_seen_classes=num_seen_classes,
    class_names=data_root + '/split_7186_400.json')

# Seen labels only (the converter keeps the seen rows of the train csv);
# images without a seen positive are dropped when the dataset is built.
train_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='OpenImagesZSLDataset',
        data_root=data_root,
        split='train',
        ann_file='openimages_zsl_train.json',
        data_prefix=dict(img_path='train'),
        label_set='seen',
        empty_images='drop',
        # train on the images present (the count of skipped ones is
        # logged), as mkt_nuswide.py; the test set stays strict
        bad_images='skip',
        pipeline={{_base_.train_pipeline}}))
# As configs/clip_zeroshot_openimages.py: images without a positive among
# the 7,586 labels count in no setting and are dropped.
test_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='OpenImagesZSLDataset',
        data_root=data_root,
        split='test',
        ann_file='openimages_zsl_test.json',
        data_prefix=dict(img_path='test'),
        label_set='all',
        empty_images='drop',
        pipeline={{_base_.test_pipeline}}))
# BiAM's protocol: mAP, weighted mAP, F1@10 / F1@20 of ZSL and GZSL; mAP is
# BiAM's pooled compute_AP (the AP of MKT's and BiAM's published Open Images
# numbers), the true per-class AP logged beside it (mAP_per_class).
test_evaluator = dict(_delete_=True, type='OpenImagesZSLMetric',
                      topk=(10, 20), label_sets=('zsl', 'gzsl'),
                      ap=('biam_pooled', 'per_class'))
# val_dataloader / val_cfg / val_evaluator stay None (mkt_coco.py): no
# model selection on the test set.
