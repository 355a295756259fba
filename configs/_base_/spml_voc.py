# SPML data on PASCAL VOC 2012 (20 classes): train / val = the seeded 80 / 20
# split of the official 'train' image set; test = the official 'val' image
# set, full labels. 'Difficult' flags count as negative and images without a
# positive are left out, as in the reference. Protocol (Cole et al. 2021:
# seeds, one positive per image, loaders, metric): spml_protocol.py; the
# pipelines are set by the model configs.
# Layout: data/VOCdevkit/VOC2012/{JPEGImages,ImageSets/Main}
_base_ = ['spml_protocol.py']

data_root = 'data/VOCdevkit/VOC2012'
num_classes = 20
# Label order of VOCMultiLabelDataset, as words for CLIP prompts (the
# dataset's 'diningtable', 'motorbike', 'pottedplant', 'tvmonitor' spelt
# out), a key of granzsl_mm.structures.class_lists.CLASS_LISTS; read by the
# models that embed class names (SigRL).
class_names = 'voc20'
voc_train = dict(type='VOCMultiLabelDataset', data_root=data_root,
                 split='train', difficult_as='negative')
voc_val = dict(type='VOCMultiLabelDataset', data_root=data_root,
               split='val', difficult_as='negative')

train_dataloader = dict(dataset=dict(dataset=voc_train))
val_dataloader = dict(dataset=dict(dataset=voc_train))
test_dataloader = dict(dataset=dict(dataset=voc_val))
