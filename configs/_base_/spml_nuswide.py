# SPML data on NUS-WIDE (81 concepts): train / val = the seeded 80 / 20 split
# of the official TrainImagelist.txt images; test = TestImagelist.txt, full
# labels. Labels from the official Groundtruth/AllLabels files; images
# without a concept are kept, as in the references (Cole et al.; Zhou et
# al. and VLPL use the official Flickr.zip images). Protocol (Cole et al.
# 2021: seeds, one positive per image, loaders, metric): spml_protocol.py;
# the pipelines are set by the model configs.
# Layout: data/nus_wide/{ImageList,ConceptsList,Groundtruth/AllLabels},
#         data/nus_wide/Flickr/<folder>/<image>.jpg
_base_ = ['spml_protocol.py']

data_root = 'data/nus_wide'
num_classes = 81
nus_train = dict(type='NUSWideMultiLabelDataset', data_root=data_root,
                 split='train', data_prefix=dict(img_path='Flickr'))
nus_test = dict(type='NUSWideMultiLabelDataset', data_root=data_root,
                split='test', data_prefix=dict(img_path='Flickr'))

train_dataloader = dict(dataset=dict(dataset=nus_train))
val_dataloader = dict(dataset=dict(dataset=nus_train))
test_dataloader = dict(dataset=dict(dataset=nus_test))
