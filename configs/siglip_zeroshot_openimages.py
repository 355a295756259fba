# SigLIP zero-shot baseline on Open Images v4, 7186 seen / 400 unseen, with
# BiAM's protocol (metric as clip_zeroshot_openimages.py). Model, scores and
# preprocessing as siglip_zeroshot_coco.py.
#   python tools/test.py configs/siglip_zeroshot_openimages.py none
_base_ = ['siglip_zeroshot_coco.py']

data_root = 'data/openimages'
split_file = data_root + '/split_7186_400.json'

model = dict(
    class_names=split_file,  # a split file: names and seen count
    num_seen_classes=None)

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
