# The COCO ZSL split of Bansal et al. (ECCV 2018): 48 seen / 17 unseen
# classes, each in COCO category-id order (the label order of
# COCOZSLDataset with cls_ids.pickle: seen, then unseen), from the package's
# one definition (granzsl_mm.structures.class_lists).
# Use {{_base_.coco_seen}} and {{_base_.coco_unseen}}.
# `__import__`, not an import statement: mmengine would take a config with
# one for a new-style (lazy) config. Modules are left out of the result.
_lists = __import__('granzsl_mm.structures.class_lists',
                    fromlist=['COCO_SEEN_48'])
coco_seen = list(_lists.COCO_SEEN_48)
coco_unseen = list(_lists.COCO_UNSEEN_17)
