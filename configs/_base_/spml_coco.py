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
# Label order of COCOMultiLabelDataset (category-id order), a key of
# granzsl_mm.structures.class_lists.CLASS_LISTS; the models that embed class
# names with CLIP (SigRL) read it from here.
class_names = 'coco80'
coco_train = dict(type='COCOMultiLabelDataset', data_root=data_root,
                  ann_file='annotations/instances_train2014.json',
                  data_prefix=dict(img_path='train2014'))
coco_val = dict(type='COCOMultiLabelDataset', data_root=data_root,
                ann_file='annotations/instances_val2014.json',
                data_prefix=dict(img_path='val2014'))

train_dataloader = dict(dataset=dict(dataset=coco_train))
val_dataloader = dict(dataset=dict(dataset=coco_train))
test_dataloader = dict(dataset=dict(dataset=coco_val))
