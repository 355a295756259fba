# The 80 MS-COCO category names in category-id order (the label order of
# COCOMultiLabelDataset), from the package's one definition
# (granzsl_mm.structures.class_lists). Use {{_base_.coco80_classes}}.
# `__import__`, not an import statement: mmengine would take a config with
# one for a new-style (lazy) config. Modules are left out of the result.
_lists = __import__('granzsl_mm.structures.class_lists',
                    fromlist=['COCO80_CLASSES'])
coco80_classes = list(_lists.COCO80_CLASSES)
