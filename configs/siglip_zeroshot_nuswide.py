# SigLIP zero-shot baseline on NUS-WIDE, 925 seen / 81 unseen (scores over
# all 1006 labels; ZSL = the 81). Model, scores and preprocessing as
# siglip_zeroshot_coco.py; data as clip_zeroshot_nuswide.py.
#   python tools/test.py configs/siglip_zeroshot_nuswide.py none
_base_ = ['siglip_zeroshot_coco.py']

data_root = 'data/nus_wide'
split_file = data_root + '/split_925_81.json'

model = dict(
    class_names=split_file,  # a split file: names and seen count
    num_seen_classes=None)

test_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='NUSWideZSLDataset',
        data_root=data_root,
        split='test',
        label_set='all',
        pipeline={{_base_.test_pipeline}}))
