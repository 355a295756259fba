# CLIP zero-shot multi-label baseline on Open Images v4: 7,186 seen / 400
# unseen classes (ZSL: 400, GZSL: 7,586; the BiAM / LESA split), prompt-
# template ensembles, frozen ViT-B/16; nothing is trained. The class names
# and their order come from the converter's split file, which also defines
# the test set's classes. Layout (see docs/datasets.md):
#   data/openimages/2018_04/ (or the root): class-descriptions.csv,
#       classes-trainable.txt, unseen_labels.pkl, top_400_unseen.csv,
#       test/test-annotations-human-imagelabels.csv   (official + BiAM's)
#   data/openimages/test/<ImageID>.jpg                 (downloaded images)
#   data/openimages/openimages_zsl_test.json, split_7186_400.json, from
#     python tools/dataset_converters/openimages_zsl.py data/openimages \
#         --out-dir data/openimages --splits train test
# Labels: 1 verified positive, 0 verified negative, -1 unknown (most).
#   python tools/test.py configs/clip_zeroshot_openimages.py none  # nothing to load
# OpenImagesZSLMetric streams BiAM's protocol (mAP, weighted mAP, F1@10 /
# F1@20 of ZSL and GZSL in one pass). mAP is BiAM's pooled compute_AP, as
# BiAM's and MKT's published Open Images numbers (also logged as
# mAP_biam_pooled); the true per-class AP is logged beside it
# (mAP_per_class). --cfg-options test_evaluator.ap=per_class scores the
# per-class AP alone (docs/datasets.md, "Open Images").
_base_ = ['clip_zeroshot_coco.py']

data_root = 'data/openimages'
split_file = data_root + '/split_7186_400.json'

model = dict(
    class_names=split_file,  # a split file: names and seen count
    num_seen_classes=None)

# Images without a positive among the 7,586 labels count in no setting:
# dropped when the dataset is built.
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
test_evaluator = dict(_delete_=True, type='OpenImagesZSLMetric',
                      topk=(10, 20), label_sets=('zsl', 'gzsl'),
                      ap=('biam_pooled', 'per_class'))
