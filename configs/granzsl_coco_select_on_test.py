# !!! SELECTS THE CHECKPOINT ON THE TEST SET (test-set leakage) !!!
# The reference's (RCNn, train_text.py) protocol, reproduced exactly: after
# every epoch the TEST set is scored with snippets (grids 2x2 + 3x3), images
# without a positive in the scored label set are dropped
# (drop_empty_images=True), AP ties rank in input order (ties='stable'), and
# two bests are kept: the best ZSL F1@3 (RCNn's unseen_model_best.pth.tar)
# and the best GZSL F1@3 (gzsl_model_best.pth.tar), the first epoch to beat
# the best so far winning (strictly greater). As RCNn, a best starts at 0:
# an F1@3 of 0 (RCNn: NaN) names none, and a run with F1@3 = 0 at every
# epoch ends without that best checkpoint (a warning says so).
# The snippets are cut as RCNn cuts them: from a PIL bicubic S x S image of
# the original, each crop resized by PIL bilinear (CutSnippets in the
# pipeline, snippet_source='pipeline'); the other configs cut them from the
# bilinear test tensor (docs/reference_differences.md says why and by how
# much they differ). Results are OPTIMISTIC: logs, checkpoints and
# predictions carry the mark "[selected on test set]"; report them as such,
# never as our numbers. granzsl_coco.py evaluates the final epoch and
# granzsl_coco_select_on_val.py selects on held-out train images.
# Remaining difference: RCNn scores under fp16 autocast (ours fp32; set
# model.val_autocast='fp16' on a GPU), see docs/reference_differences.md.
#   python tools/train.py configs/granzsl_coco_select_on_test.py
#   python tools/test.py configs/granzsl_coco_select_on_test.py \
#       work_dirs/granzsl_coco_select_on_test/best_*.pth --tta
_base_ = ['granzsl_coco.py']

# RCNn's views: the full image resized bilinear (as granzsl_coco.py), the
# snippets cut from the original image by CutSnippets.
snippet_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='CutSnippets', grids=_base_.tta_model.grids,
         size=_base_.image_size),
    dict(type='Resize', scale=(_base_.image_size, _base_.image_size),
         backend='pillow', interpolation='bilinear'),
    dict(type='PackInputs', algorithm_keys=['snippets']),
]
model = dict(
    type='GranZSLSnippetVal',  # GranZSL; val_step scores with snippets
    select_on_test=True,
    val_grids=_base_.tta_model.grids,
    val_snippet_resize=_base_.tta_model.snippet_resize,  # unused: pipeline
    val_snippet_source='pipeline')
val_dataloader = dict(
    _delete_=True,
    batch_size=32,
    num_workers=4,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(_base_.test_dataloader.dataset, pipeline=snippet_pipeline))
val_cfg = dict(_delete_=True)
val_evaluator = dict(_delete_=True, type='ZSLMultiLabelMetric', topk=(3, 5),
                     drop_empty_images=True, ties='stable',
                     prefix='selected-on-test')
default_hooks = dict(checkpoint=dict(
    interval=1, max_keep_ckpts=1,
    save_best=['selected-on-test/zsl/F1@3', 'selected-on-test/gzsl/F1@3'],
    rule='greater', best_above=0.0))
# --tta scores the test set as the selection did
tta_model = dict(snippet_source='pipeline')
tta_pipeline = snippet_pipeline
work_dir = 'work_dirs/granzsl_coco_select_on_test'
