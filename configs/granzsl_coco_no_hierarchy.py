# Ablation: no hierarchy sentences (parents, children, synonyms).
_base_ = ['granzsl_coco.py']
train_dataloader = dict(
    dataset=dict(fields=['attributes', 'cooccurrence', 'sentences']))
