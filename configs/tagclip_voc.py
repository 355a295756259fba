# TagCLIP (linyq2117/TagCLIP) training-free scores on PASCAL VOC 2007 test
# (4952 images, 20 classes; the reference's voc2007 setting), CLIP ViT-B/16:
#   python tools/test.py configs/tagclip_voc.py none
# As configs/tagclip_coco.py, with VOC's class spelling ('diningtable') and
# TagCLIP's 25 VOC background words. 'Difficult' flags count as negative and
# every image is kept (the reference lists all 4952).
# Layout: data/VOCdevkit/VOC2007/{JPEGImages,ImageSets/Main}.
_base_ = ['tagclip_coco.py']

data_root = 'data/VOCdevkit/VOC2007'

model = dict(class_names='voc20_tagclip', tagclip=dict(background='voc'))

test_dataloader = dict(
    dataset=dict(_delete_=True, type='VOCMultiLabelDataset',
                 data_root=data_root, split='test', difficult_as='negative',
                 empty_images='keep', pipeline={{_base_.test_pipeline}}))
