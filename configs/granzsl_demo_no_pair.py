# Ablation on the synthetic world: GranZSL without the pair-based
# distinctiveness loss (tools/run_demo.py runs it).
_base_ = ['granzsl_demo.py']
model = dict(pair_loss=None)
