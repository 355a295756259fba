# Ablation on the synthetic world: test on the full image only (--tta runs
# no snippet grid; the same as testing granzsl_demo.py without --tta).
_base_ = ['granzsl_demo.py']
tta_model = dict(grids=())
