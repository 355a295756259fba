# CLIP's image normalisation on the 0-255 scale of the data preprocessors,
# from the package's one definition (granzsl_mm.structures.constants).
# Inherit this file and write mean={{_base_.clip_mean}},
# std={{_base_.clip_std}}.
# `__import__`, not an import statement: mmengine would take a config with
# one for a new-style (lazy) config. Modules are left out of the result.
_constants = __import__('granzsl_mm.structures.constants',
                        fromlist=['CLIP_MEAN'])
clip_mean = list(_constants.CLIP_MEAN)
clip_std = list(_constants.CLIP_STD)
