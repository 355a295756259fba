# Ablation: test on the full image only (--tta runs no snippet grid).
_base_ = ['granzsl_coco.py']
tta_model = dict(grids=())
