# CLIP zero-shot multi-label baseline on NUS-WIDE: 925 seen tags / 81 unseen
# concepts (ZSL: 81, GZSL: 1006), prompt-template ensembles, frozen ViT-B/16.
# The class names and their order come from the split file that also defines
# the test set's classes ({"seen": [925 tags], "unseen": [81 concepts]}).
#   python tools/test.py configs/clip_zeroshot_nuswide.py none  # nothing to load
_base_ = ['clip_zeroshot_coco.py']

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

tta_model = dict(grids=(2,))
