# Single-positive multi-label learning on MS-COCO 2014 with a CLIP image
# tower and a linear classifier, trained with entropy maximisation plus
# VLPL's CLIP pseudo-labels (model, pseudo-labeller, pipelines and
# optimiser: _base_/spml_clip_linear.py). SigRL's own model in SPML mode:
# spml_coco_sigrl_clip.py; see docs/spml.md.
# 1) pseudo-labels, once (frozen CLIP; cached in `pseudo_label_file`):
#   python tools/generate_pseudo_labels.py configs/spml_coco_clip_linear.py
# 2) python tools/train.py configs/spml_coco_clip_linear.py
# 3) python tools/test.py configs/spml_coco_clip_linear.py \
#        work_dirs/spml_coco_clip_linear/best_mAP_epoch_*.pth
_base_ = ['_base_/spml_coco.py', '_base_/spml_clip_linear.py']

# alpha 0.1 on COCO (reference)
model = dict(head=dict(num_classes={{_base_.num_classes}},
                       loss=dict(alpha=0.1)))

pseudo_label_file = 'data/coco/spml/coco_vlpl_pseudo_labels.npz'
pseudo_label_cfg = dict(out_file=pseudo_label_file)

train_dataloader = dict(dataset=dict(pipeline={{_base_.train_pipeline}},
                                     pseudo_label_file=pseudo_label_file))
val_dataloader = dict(dataset=dict(pipeline={{_base_.test_pipeline}}))
test_dataloader = dict(dataset=dict(pipeline={{_base_.test_pipeline}}))
