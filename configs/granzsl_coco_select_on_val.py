# Model selection without test-set leakage: keep the epoch with the best
# seen-class mAP on held-out TRAIN-split images (training is text-only, so
# every train2014 image is held out; no unseen-class label is looked at).
# Test the selected checkpoint (best_*.pth) with tools/test.py --tta as usual.
_base_ = ['granzsl_coco.py']
val_dataloader = dict(
    _delete_=True,
    batch_size=32,
    num_workers=4,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type='COCOZSLDataset',
        data_root={{_base_.data_root}},
        ann_file='annotations/instances_train2014_seen_48_17.json',
        data_prefix=dict(img_path='train2014'),
        split_file={{_base_.split_file}},
        label_set='seen',
        indices=5000,  # a fixed subset keeps validation cheap
        pipeline={{_base_.test_pipeline}}))
val_cfg = dict(_delete_=True)
val_evaluator = dict(_delete_=True, type='ZSLMultiLabelMetric', topk=(3, 5),
                     prefix='val-seen')
model = dict(label_set='gzsl')
default_hooks = dict(checkpoint=dict(
    interval=1, max_keep_ckpts=1, save_best='auto', rule='greater'))
