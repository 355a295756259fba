# GranZSL on NUS-WIDE, 925 seen tags / 81 unseen concepts (1006 names learned).
# Differences from COCO: 3 name tokens, lambda = 1e-4, snippet grid (2,) only.
#   python tools/train.py configs/granzsl_nuswide.py
#   python tools/test.py configs/granzsl_nuswide.py \
#       work_dirs/granzsl_nuswide/epoch_30.pth --tta
_base_ = ['granzsl_coco.py']

data_root = 'data/nus_wide'
# One description file for all 1006 names (seen tags + concepts), e.g. the
# shipped 'nuswide_seen925' and 'nuswide81' merged, the output of
# tools/generate_descriptions.py, or the authors' nuswide_post_llm.json
# (keys "0".."1005" in this order; read as released, duplicates kept); and
# the class order of the test set: our split json {"seen": 925 tags,
# "unseen": 81 concepts}, the converter's split_925_81.json.
description_file = data_root + '/descriptions_1006.json'
split_file = data_root + '/split_925_81.json'
num_classes, num_seen_classes = 1006, 925

model = dict(
    name_learner=dict(num_tokens=3),
    num_classes=num_classes,
    num_seen_classes=num_seen_classes,
    pair_loss=dict(loss_weight=1e-4))

train_dataloader = dict(dataset=dict(
    description_file=description_file, split_file=split_file))

test_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='NUSWideZSLDataset',
        data_root=data_root,
        split='test',
        labels_from='pickles',  # the papers' test_{seen,unseen}_labels.pkl
        label_set='all',
        data_prefix=dict(img_path='Flickr'),
        pipeline={{_base_.test_pipeline}}))

tta_model = dict(grids=(2,))
