# Ablation on the synthetic world: no hierarchy sentences (parents, children,
# synonyms) in GranZSL's training text.
_base_ = ['granzsl_demo.py']
train_dataloader = dict(
    dataset=dict(fields=['attributes', 'cooccurrence', 'sentences']))
