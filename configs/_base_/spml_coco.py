# SPML data on MS-COCO 2014 (80 classes): train / val = the seeded 80 / 20
# split of the official train2014 images with annotations; test = the
# official val2014 images with annotations, full labels. Protocol (Cole et
# al. 2021: seeds, one positive per image, loaders, metric):
# spml_protocol.py; the pipelines are set by the model configs.
# Layout: data/coco/annotations/instances_{train,val}2014.json,
#         data/coco/{train,val}2014/*.jpg
_base_ = ['spml_protocol.py']

data_root = 'data/coco'
num_classes = 80
# Label order of COCOMultiLabelDataset (category-id order); the models that
# embed class names with CLIP (SigRL) read them from here.
class_names = [
    'person', 'bicycle', 'car', 'motorcycle', 'airplane', 'bus', 'train',
    'truck', 'boat', 'traffic light', 'fire hydrant', 'stop sign',
    'parking meter', 'bench', 'bird', 'cat', 'dog', 'horse', 'sheep', 'cow',
    'elephant', 'bear', 'zebra', 'giraffe', 'backpack', 'umbrella',
    'handbag', 'tie', 'suitcase', 'frisbee', 'skis', 'snowboard',
    'sports ball', 'kite', 'baseball bat', 'baseball glove', 'skateboard',
    'surfboard', 'tennis racket', 'bottle', 'wine glass', 'cup', 'fork',
    'knife', 'spoon', 'bowl', 'banana', 'apple', 'sandwich', 'orange',
    'broccoli', 'carrot', 'hot dog', 'pizza', 'donut', 'cake', 'chair',
    'couch', 'potted plant', 'bed', 'dining table', 'toilet', 'tv', 'laptop',
    'mouse', 'remote', 'keyboard', 'cell phone', 'microwave', 'oven',
    'toaster', 'sink', 'refrigerator', 'book', 'clock', 'vase', 'scissors',
    'teddy bear', 'hair drier', 'toothbrush'
]
coco_train = dict(type='COCOMultiLabelDataset', data_root=data_root,
                  ann_file='annotations/instances_train2014.json',
                  data_prefix=dict(img_path='train2014'))
coco_val = dict(type='COCOMultiLabelDataset', data_root=data_root,
                ann_file='annotations/instances_val2014.json',
                data_prefix=dict(img_path='val2014'))

train_dataloader = dict(dataset=dict(dataset=coco_train))
val_dataloader = dict(dataset=dict(dataset=coco_train))
test_dataloader = dict(dataset=dict(dataset=coco_val))
