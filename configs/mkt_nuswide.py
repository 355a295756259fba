# MKT stage 1 (AAAI 2023) on NUS-WIDE, 925 seen tags / 81 unseen concepts:
# the reference's setting (train_nus_first_stage.py).
#   python tools/train.py configs/mkt_nuswide.py [--amp]
#   python tools/test.py configs/mkt_nuswide.py \
#       work_dirs/mkt_nuswide/epoch_20.pth
_base_ = ['mkt_coco.py']

data_root = 'data/nus_wide'
num_classes, num_seen_classes = 1006, 925

# Label order of NUSWideZSLDataset: TagList1k without the 75 tags that are
# concepts (925), then Concepts81 (the official download's sub-folders; point
# these at your copies if they sit elsewhere).
model = dict(
    num_classes=num_classes,
    num_seen_classes=num_seen_classes,
    class_names=dict(_delete_=True,
                     seen=data_root + '/NUS_WID_Tags/TagList1k.txt',
                     unseen=data_root + '/ConceptsList/Concepts81.txt'))

train_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='NUSWideZSLDataset',
        data_root=data_root,
        split='train',
        labels_from='metadata',
        label_set='seen',
        empty_images='drop',
        # many NUS-WIDE URLs are dead: train on the images present (the
        # count of skipped ones is logged); the test set stays strict
        bad_images='skip',
        data_prefix=dict(img_path='Flickr'),
        pipeline={{_base_.train_pipeline}}))
# The papers' test set: test_seen_labels.pkl / test_unseen_labels.pkl.
test_dataloader = dict(
    batch_size=64,
    dataset=dict(
        _delete_=True,
        type='NUSWideZSLDataset',
        data_root=data_root,
        split='test',
        labels_from='pickles',
        label_set='all',
        data_prefix=dict(img_path='Flickr'),
        pipeline={{_base_.test_pipeline}}))
