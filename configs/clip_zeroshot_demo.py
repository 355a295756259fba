# CLIP zero-shot baseline on the synthetic proving-ground world (CPU,
# seconds). Build the data and the world's tiny CLIP first (`make demo`, or:
#   python tools/make_demo_data.py
#   python tools/pretrain_tiny_clip.py configs/pretrain_tiny_clip_demo.py)
#   python tools/test.py configs/clip_zeroshot_demo.py none
#   python tools/infer.py configs/clip_zeroshot_demo.py data/demo/images \
#       --vocab data/demo/split.json --show-dir work_dirs/infer_demo
# Without data/demo/tiny_clip.pt the tools stop ("run `make demo` first");
# --clip-checkpoint random runs every path on a random tower (and says so).
_base_ = ['clip_zeroshot_coco.py']

data_root = 'data/demo'
image_size = 48  # TinyCLIP-world's input size

model = dict(
    backbone=dict(arch='TinyCLIP-world', pretrained='data/demo/tiny_clip.pt'),
    class_names=data_root + '/split.json',  # seen then unseen
    num_seen_classes=None,
    templates=['a photo of a {}.'],
    score_mode='both')

test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(image_size, image_size), backend='pillow',
         interpolation='bicubic'),
    dict(type='PackInputs'),
]
test_dataloader = dict(
    batch_size=16,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(
        data_root=data_root,
        ann_file='annotations/instances_test.json',
        data_prefix=dict(img_path='images'),
        split_file='split.json',
        pipeline=test_pipeline))
tta_model = dict(grids=(2,))
tta_pipeline = test_pipeline
