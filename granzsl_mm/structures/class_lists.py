"""Class lists of the benchmark datasets (data), each in its label order,
and :data:`CLASS_LISTS`, the one table of their names.

The one home of each list: the dataset readers take them from here; configs
(``class_names='coco48_17'``), the inferencer, ``tools/infer.py --vocab``
and the web app name them by a key of :data:`CLASS_LISTS`, resolved by the
one class-name reader, :func:`granzsl_mm.structures.read_class_names`.
"""
from typing import Dict, Mapping, Tuple, Union

__all__ = ['COCO80_CLASSES', 'COCO_SEEN_48', 'COCO_UNSEEN_17', 'VOC_CLASSES',
           'VOC_CLASS_WORDS', 'NUSWIDE81_CLASSES', 'TAGCLIP_COCO80_WORDS',
           'CLASS_LISTS', 'BACKGROUND_WORDS']

# The 80 MS-COCO category names sorted by category id (the index space of
# the papers' ``cls_ids.pickle``).
COCO80_CLASSES: Tuple[str, ...] = (
    'person', 'bicycle', 'car', 'motorcycle', 'airplane', 'bus', 'train',
    'truck', 'boat', 'traffic light', 'fire hydrant', 'stop sign',
    'parking meter', 'bench', 'bird', 'cat', 'dog', 'horse', 'sheep', 'cow',
    'elephant', 'bear', 'zebra', 'giraffe', 'backpack', 'umbrella', 'handbag',
    'tie', 'suitcase', 'frisbee', 'skis', 'snowboard', 'sports ball', 'kite',
    'baseball bat', 'baseball glove', 'skateboard', 'surfboard',
    'tennis racket', 'bottle', 'wine glass', 'cup', 'fork', 'knife', 'spoon',
    'bowl', 'banana', 'apple', 'sandwich', 'orange', 'broccoli', 'carrot',
    'hot dog', 'pizza', 'donut', 'cake', 'chair', 'couch', 'potted plant',
    'bed', 'dining table', 'toilet', 'tv', 'laptop', 'mouse', 'remote',
    'keyboard', 'cell phone', 'microwave', 'oven', 'toaster', 'sink',
    'refrigerator', 'book', 'clock', 'vase', 'scissors', 'teddy bear',
    'hair drier', 'toothbrush')

# Bansal et al. (ECCV 2018) 48 seen / 17 unseen classes, each in category-id
# order (= ``cls_ids.pickle`` 'train' / 'test' indices into COCO80_CLASSES).
COCO_SEEN_48: Tuple[str, ...] = (
    'person', 'bicycle', 'car', 'motorcycle', 'train', 'truck', 'boat',
    'bench', 'bird', 'horse', 'sheep', 'bear', 'zebra', 'giraffe', 'backpack',
    'handbag', 'suitcase', 'frisbee', 'skis', 'kite', 'surfboard', 'bottle',
    'fork', 'spoon', 'bowl', 'banana', 'apple', 'sandwich', 'orange',
    'broccoli', 'carrot', 'pizza', 'donut', 'chair', 'bed', 'toilet', 'tv',
    'laptop', 'mouse', 'remote', 'microwave', 'oven', 'toaster',
    'refrigerator', 'book', 'clock', 'vase', 'toothbrush')
COCO_UNSEEN_17: Tuple[str, ...] = (
    'airplane', 'bus', 'cat', 'dog', 'cow', 'elephant', 'umbrella', 'tie',
    'snowboard', 'skateboard', 'cup', 'knife', 'cake', 'couch', 'keyboard',
    'sink', 'scissors')

# PASCAL VOC 2012's 20 classes as the dataset spells them (the
# ``ImageSets/Main/<class>_<split>.txt`` file names), in label order.
VOC_CLASSES: Tuple[str, ...] = (
    'aeroplane', 'bicycle', 'bird', 'boat', 'bottle', 'bus', 'car', 'cat',
    'chair', 'cow', 'diningtable', 'dog', 'horse', 'motorbike', 'person',
    'pottedplant', 'sheep', 'sofa', 'train', 'tvmonitor')
# The same classes as words for CLIP prompts (the joined names spelt out).
VOC_CLASS_WORDS: Tuple[str, ...] = (
    'aeroplane', 'bicycle', 'bird', 'boat', 'bottle', 'bus', 'car', 'cat',
    'chair', 'cow', 'dining table', 'dog', 'horse', 'motor bike', 'person',
    'potted plant', 'sheep', 'sofa', 'train', 'tv monitor')

# NUS-WIDE's 81 concepts in the official ConceptsList/Concepts81.txt order
# (the unseen label order of NUSWideZSLDataset and the SPML label order).
NUSWIDE81_CLASSES: Tuple[str, ...] = (
    'airport', 'animal', 'beach', 'bear', 'birds', 'boats', 'book', 'bridge',
    'buildings', 'cars', 'castle', 'cat', 'cityscape', 'clouds', 'computer',
    'coral', 'cow', 'dancing', 'dog', 'earthquake', 'elk', 'fire', 'fish',
    'flags', 'flowers', 'food', 'fox', 'frost', 'garden', 'glacier', 'grass',
    'harbor', 'horses', 'house', 'lake', 'leaf', 'map', 'military', 'moon',
    'mountain', 'nighttime', 'ocean', 'person', 'plane', 'plants', 'police',
    'protest', 'railroad', 'rainbow', 'reflection', 'road', 'rocks',
    'running', 'sand', 'sign', 'sky', 'snow', 'soccer', 'sports', 'statue',
    'street', 'sun', 'sunset', 'surf', 'swimmers', 'tattoo', 'temple',
    'tiger', 'tower', 'town', 'toy', 'train', 'tree', 'valley', 'vehicle',
    'water', 'waterfall', 'wedding', 'whales', 'window', 'zebra')

# The 80 COCO classes in category-id order as TagCLIP prompts them
# (``linyq2117/TagCLIP``, ``clip_text.py:class_names_coco``): six in VOC's
# spelling, the rest as COCO80_CLASSES.
_TAGCLIP_COCO_SPELLING = {
    'motorcycle': 'motorbike', 'airplane': 'aeroplane', 'couch': 'sofa',
    'potted plant': 'pottedplant', 'dining table': 'diningtable',
    'tv': 'tvmonitor'}
TAGCLIP_COCO80_WORDS: Tuple[str, ...] = tuple(
    _TAGCLIP_COCO_SPELLING.get(name, name) for name in COCO80_CLASSES)

# Background words: non-object words TagCLIP (``clip_text.py``) appends to
# the class names before its per-patch softmax over the words, so that sky or
# road patches vote for a background word rather than for the nearest class;
# their scores are dropped afterwards. Its BACKGROUND_CATEGORY_COCO (23) and
# BACKGROUND_CATEGORY_VOC (the same with 'keyboard' and 'sign': 25), in its
# order; named by key in configs (``tagclip=dict(background='coco')``).
_TAGCLIP_BACKGROUND_COCO: Tuple[str, ...] = (
    'ground', 'land', 'grass', 'tree', 'building', 'wall', 'sky', 'lake',
    'water', 'river', 'sea', 'railway', 'railroad', 'helmet', 'cloud',
    'house', 'mountain', 'ocean', 'road', 'rock', 'street', 'valley',
    'bridge')
BACKGROUND_WORDS: Dict[str, Tuple[str, ...]] = {
    'coco': _TAGCLIP_BACKGROUND_COCO,
    'voc': (_TAGCLIP_BACKGROUND_COCO[:13] + ('keyboard', )
            + _TAGCLIP_BACKGROUND_COCO[13:] + ('sign', )),
    'none': (),
}

# A named list: the names in label order, or a split (seen, then unseen).
ClassList = Union[Tuple[str, ...], Mapping[str, Tuple[str, ...]]]

_COCO_48_17: Mapping[str, Tuple[str, ...]] = dict(seen=COCO_SEEN_48,
                                                  unseen=COCO_UNSEEN_17)

# The one table of named class lists. Configs name a key (``class_names=
# 'coco48_17'``); users type one (``tools/infer.py --vocab coco80``, the web
# app's choices). The second group: other spellings users type today.
CLASS_LISTS: Dict[str, ClassList] = {
    'coco80': COCO80_CLASSES,
    'coco48_17': _COCO_48_17,  # the ZSL split: 48 seen, then 17 unseen
    'coco48': COCO_SEEN_48,
    'coco17': COCO_UNSEEN_17,
    'nuswide81': NUSWIDE81_CLASSES,
    'voc20': VOC_CLASS_WORDS,  # as words for prompts ('dining table')
    # the words TagCLIP prompts with (its configs reproduce its numbers)
    'coco80_tagclip': TAGCLIP_COCO80_WORDS,
    'voc20_tagclip': VOC_CLASSES,
    'coco_seen': COCO_SEEN_48,
    'coco_unseen': COCO_UNSEEN_17,
    'coco65': _COCO_48_17,
    'coco_zsl': _COCO_48_17,
    'coco': COCO80_CLASSES,
    'nuswide': NUSWIDE81_CLASSES,
}
