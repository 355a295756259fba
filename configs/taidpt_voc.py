# TaI-DPT on PASCAL VOC 2007 test (4952 images, 20 classes; the reference's
# voc2007 setting): taidpt_coco.py's recipe with guozix/TaI-DPT's VOC values
# (commit 1333eca; configs/trainers/Caption_distill_double/rn50_voc2007.yaml,
# datasets/voc2007_distill.py), trained on the same COCO captions matched to
# voc_classname_synonyms:
#   bash main.sh voc2007_distill rn50_voc2007 end 16 False voc2007_caption
#   python tools/train.py configs/taidpt_voc.py
#   python tools/test.py configs/taidpt_voc.py work_dirs/taidpt_voc/epoch_20.pth
# Layout: data/coco/annotations/captions_train2014.json and
# data/VOCdevkit/VOC2007/{JPEGImages,ImageSets/Main}.
_base_ = ['taidpt_coco.py']

voc_root = 'data/VOCdevkit/VOC2007'

# datasets/data_helpers.py voc_object_categories ('diningtable', ...)
model = dict(num_classes=20, class_names='voc20_tagclip')
train_dataloader = dict(dataset=dict(class_names='voc20_tagclip',
                                     synonyms='voc'))
# datasets/voc2007_distill.py: the test split; data_helpers.py
# read_object_labels keeps VOC's 1 / 0 (difficult) / -1, and evaluator.py
# counts only 1 as positive: difficult = negative, every image kept
test_dataloader = dict(
    dataset=dict(_delete_=True, type='VOCMultiLabelDataset',
                 data_root=voc_root, split='test', difficult_as='negative',
                 empty_images='keep', pipeline={{_base_.test_pipeline}}))
# rn50_voc2007.yaml: the same OPTIM (LR 0.0001, 20 epochs) and
# spatial_SCALE_image 40 as rn50_coco2014.yaml
