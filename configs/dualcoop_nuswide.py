# DualCoOp (NeurIPS 2022), zero-shot setting, on NUS-WIDE 925 seen tags / 81
# unseen concepts: dualcoop_coco.py's recipe with the reference README's
# NUS-WIDE values (sunxm2357/DualCoOp @ 49e71d7):
#   python train_zsl.py --config_file configs/models/rn50_ep50.yaml
#       --dataset_config_file configs/datasets/nus_wide_zsl.yaml
#       --input_size 224 --lr 0.001 --loss_w 0.01 --n_ctx_pos 64 --n_ctx_neg 64
#   python tools/train.py configs/dualcoop_nuswide.py
#   python tools/test.py configs/dualcoop_nuswide.py \
#       work_dirs/dualcoop_nuswide/epoch_50.pth
# The dataset, its pipelines' images and the papers' test pickles:
# _base_/datasets/nuswide_zsl.py (docs/datasets.md).
_base_ = ['dualcoop_coco.py']

data_root = 'data/nus_wide'
num_classes, num_seen_classes = 1006, 925

model = dict(
    num_classes=num_classes,
    num_seen_classes=num_seen_classes,
    class_names=dict(_delete_=True,
                     seen=data_root + '/NUS_WID_Tags/TagList1k.txt',
                     unseen=data_root + '/ConceptsList/Concepts81.txt'),
    # opts.py --num_train_cls 100: 100 of the 925 seen classes drawn at
    # random each step (utils/trainers.py train_coop; README: "randomly pick
    # n classes ... when the number of seen classes are very large")
    train_classes_per_step=100)

train_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='NUSWideZSLDataset',
        data_root=data_root,
        split='train',
        labels_from='metadata',
        label_set='seen',
        empty_images='drop',
        # many NUS-WIDE URLs are dead: train on the images present
        bad_images='skip',
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

# README: --lr 0.001 for NUS-WIDE; the warm-up factor keeps 1e-5
optim_wrapper = dict(optimizer=dict(lr=0.001))
param_scheduler = [
    dict(type='ConstantLR', factor=1e-5 / 0.001, by_epoch=True, begin=0,
         end=2),  # mmengine restores the lr on the step that ends it
    dict(type='CosineAnnealingLR', T_max=50, eta_min=0.0, by_epoch=True,
         begin=1, end=50),
]
