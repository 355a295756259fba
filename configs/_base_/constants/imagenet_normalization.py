# ImageNet's image normalisation (torchvision / timm statistics) on the 0-255
# scale of the data preprocessors, from the package's one definition
# (granzsl_mm.structures.constants). Inherit this file and write
# mean={{_base_.imagenet_mean}}, std={{_base_.imagenet_std}}.
# `__import__`, not an import statement: mmengine would take a config with
# one for a new-style (lazy) config. Modules are left out of the result.
_constants = __import__('granzsl_mm.structures.constants',
                        fromlist=['IMAGENET_MEAN'])
imagenet_mean = list(_constants.IMAGENET_MEAN)
imagenet_std = list(_constants.IMAGENET_STD)
