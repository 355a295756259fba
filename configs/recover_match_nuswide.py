# Recover-and-Match (CVPR 2025) on NUS-WIDE, 925 seen tags / 81 unseen
# concepts: recover_match_coco.py with the values where the reference's
# configs/nus.yml differs from its configs/coco.yml (EricTan7/RAM @ f2073f9).
#   python tools/train.py configs/recover_match_nuswide.py [--amp]
#   python tools/test.py configs/recover_match_nuswide.py \
#       work_dirs/recover_match_nuswide/epoch_6.pth
# The dataset, its images and the papers' test pickles:
# _base_/datasets/nuswide_zsl.py (docs/datasets.md).
_base_ = ['recover_match_coco.py']

data_root = 'data/nus_wide'
num_classes, num_seen_classes = 1006, 925

model = dict(
    num_classes=num_classes,
    num_seen_classes=num_seen_classes,
    class_names=dict(_delete_=True,
                     seen=data_root + '/NUS_WID_Tags/TagList1k.txt',
                     unseen=data_root + '/ConceptsList/Concepts81.txt'),
    text_prompt_blocks=(6, 7, 8, 9, 10, 11),  # nus.yml MODEL.DEPTH_TEXT
    local_temperature=2e-4)  # nus.yml MODEL.TEMPERATURE 2e-4

train_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='NUSWideZSLDataset',
        data_root=data_root,
        split='train',
        labels_from='metadata',
        label_set='seen',
        empty_images='drop',
        bad_images='skip',  # many NUS-WIDE URLs are dead
        data_prefix=dict(img_path='Flickr'),
        pipeline={{_base_.train_pipeline}}))
test_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='NUSWideZSLDataset',
        data_root=data_root,
        split='test',
        labels_from='pickles',
        label_set='all',
        data_prefix=dict(img_path='Flickr'),
        pipeline={{_base_.test_pipeline}}))
default_hooks = dict(logger=dict(interval=1000))  # nus.yml LOG_PERIOD 1000
