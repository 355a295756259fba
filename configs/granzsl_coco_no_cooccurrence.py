# Ablation: no co-occurrence sentences.
_base_ = ['granzsl_coco.py']
train_dataloader = dict(dataset=dict(
    fields=['attributes', 'parents', 'children', 'synonyms', 'sentences']))
