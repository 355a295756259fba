# PASCAL VOC 2012's 20 classes in the label order of VOCMultiLabelDataset,
# as words for CLIP prompts ('diningtable', 'motorbike', 'pottedplant',
# 'tvmonitor' spelt out), from the package's one definition
# (granzsl_mm.structures.class_lists). Use {{_base_.voc_class_words}}.
# `__import__`, not an import statement: mmengine would take a config with
# one for a new-style (lazy) config. Modules are left out of the result.
_lists = __import__('granzsl_mm.structures.class_lists',
                    fromlist=['VOC_CLASS_WORDS'])
voc_class_words = list(_lists.VOC_CLASS_WORDS)
