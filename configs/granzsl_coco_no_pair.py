# Ablation: GranZSL on COCO without the pair-based distinctiveness loss.
_base_ = ['granzsl_coco.py']
model = dict(pair_loss=None)
