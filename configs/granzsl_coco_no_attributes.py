# Ablation: no visual-attribute sentences.
_base_ = ['granzsl_coco.py']
train_dataloader = dict(dataset=dict(
    fields=['parents', 'children', 'synonyms', 'cooccurrence', 'sentences']))
