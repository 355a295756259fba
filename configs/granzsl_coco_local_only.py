# Ablation: score with the local (dense, softmax-pooled) evidence only.
_base_ = ['granzsl_coco.py']
model = dict(score_mode='local')
