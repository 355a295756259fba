# Ablation: score with the global embedding only (s * cosine).
_base_ = ['granzsl_coco.py']
model = dict(score_mode='global')
