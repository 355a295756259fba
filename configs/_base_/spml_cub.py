# SPML data on CUB-200-2011 (312 binary attributes): train / val = the
# seeded 80 / 20 split of the official training images
# (train_test_split.txt: 1); test = the official test images (0), full
# labels. An attribute is positive when is_present is 1, whatever its
# certainty, as in the references. Protocol (Cole et al. 2021: seeds, one
# positive per image, loaders, metric): spml_protocol.py; the pipelines are
# set by the model configs.
# Layout: data/cub/attributes.txt (the official archive's, next to)
#         data/cub/CUB_200_2011/{images.txt,train_test_split.txt,images/,
#                                attributes/image_attribute_labels.txt}
_base_ = ['spml_protocol.py']

data_root = 'data/cub/CUB_200_2011'
num_classes = 312
cub_train = dict(type='CUBAttributeDataset', data_root=data_root,
                 split='train')
cub_test = dict(type='CUBAttributeDataset', data_root=data_root,
                split='test')

train_dataloader = dict(dataset=dict(dataset=cub_train))
val_dataloader = dict(dataset=dict(dataset=cub_train))
test_dataloader = dict(dataset=dict(dataset=cub_test))
