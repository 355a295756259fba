"""TaI-DPT's training text: captions labelled by their words, and prompts.

Reference: ``guozix/TaI-DPT`` ``datasets/coco2014_distill.py``
(``COCO2014_distill``; the VOC / NUS-WIDE datasets build the same from the
same captions). The training set of its text-only prompt learning is

* every caption of a COCO captions file (or of Open Images' localized
  narratives, a JSON Lines file: the reference's NUS-WIDE text,
  ``datasets/nuswide_distill.py``) that names at least one class
  (:class:`~granzsl_mm.datasets.caption_labels.CaptionLabeler`: its words
  against the classes' synonym lists), labelled with the classes it names;
  optionally (NUS-WIDE) at most ``max_per_class`` captions per class, each
  caption counted for its rarest class;
* per class, ``template_copies`` copies of "a photo of a {name}." and one
  sentence per template of CLIP's 80 ImageNet templates, labelled with that
  class alone (the reference: ``default_prompt_num = 10``, i.e. 9 copies,
  and ``IMAGENET_TEMPLATES``, which holds "a photo of a {}." once more).

Items are text-only: ``text``, ``gt_label`` (the positive class indices) and
``gt_score`` (1 / 0 over all classes; -1 on the classes beyond
``num_trained_classes``, whose words are not matched: the unseen classes of
a zero-shot split). Pack them with ``PackTextInputs``.
"""
import os.path as osp
from typing import List, Mapping, Optional, Sequence, Union

from mmengine.dataset import BaseDataset

from granzsl_mm.registry import DATASETS
from granzsl_mm.structures.caption_synonyms import get_caption_synonyms
from granzsl_mm.structures.class_names import ClassSource, read_class_names
from granzsl_mm.structures.prompts import get_templates
from granzsl_mm.utils.json_files import read_json, read_json_lines

from .caption_labels import CaptionLabeler

__all__ = ['CaptionLabelDataset', 'class_synonym_lists']

SynonymSource = Union[str, Sequence[Sequence[str]], Mapping[str, Sequence[str]],
                      None]


def _norm(word: str) -> str:
    return ' '.join(str(word).replace('_', ' ').lower().split())


def class_synonym_lists(class_names: Sequence[str],
                        synonyms: SynonymSource = None) -> List[List[str]]:
    """Per class, its name then the reference's synonyms for it.

    Args:
        class_names (Sequence[str]): Class names in label order.
        synonyms: A key of
            :data:`~granzsl_mm.structures.caption_synonyms.CAPTION_SYNONYMS`
            (``'coco'``, ``'voc'``, ``'nuswide'``) or a list of synonym lists
            (a class takes the list holding its name, compared without spaces:
            ``'airplane'`` takes ``['aeroplane', ..., 'air plane']``); a
            mapping name -> synonyms; None: each class by its name alone.

    Returns:
        list[list[str]]: One list per class, its own name first.
    """
    names = [_norm(n) for n in class_names]
    if synonyms is None:
        return [[n] for n in names]
    if isinstance(synonyms, Mapping):
        table = {_norm(k): [_norm(w) for w in v] for k, v in synonyms.items()}
        return [[n] + [w for w in table.get(n, []) if w != n] for n in names]
    lists = (get_caption_synonyms(synonyms) if isinstance(synonyms, str)
             else [list(s) for s in synonyms])
    lookup = {}
    for words in lists:
        words = [_norm(w) for w in words]
        for word in words:
            lookup.setdefault(word.replace(' ', ''), words)
    out = []
    for name in names:
        words = lookup.get(name.replace(' ', ''), [])
        out.append([name] + [w for w in words if w != name])
    return out


@DATASETS.register_module()
class CaptionLabelDataset(BaseDataset):
    """Captions (and class prompts) labelled by the classes they name.

    Args:
        ann_file (str): A COCO captions json (``captions_train2014.json`` as
            released: ``annotations`` with ``id`` and ``caption``; the
            reference reads ``captions_train2017.json``, the same format),
            or a ``.jsonl`` file of records with ``caption`` (Open Images'
            ``open_images_train_v6_captions.jsonl``).
        class_names: All classes in label order (seen first), see
            :func:`~granzsl_mm.structures.read_class_names`.
        split_file (str, optional): Instead of ``class_names``, a split file
            relative to ``data_root`` (as ``COCOZSLDataset``'s).
        synonyms: Synonym lists, see :func:`class_synonym_lists`.
        num_trained_classes (int, optional): Match only the first this many
            classes (the seen ones); the others are unknown (-1) everywhere
            and get no prompts. None: the seen classes of a seen / unseen
            split, else all.
        template_copies (int): Copies of "a photo of a {name}." per class.
        templates (str | Sequence[str]): The other prompts per class (a
            template set of ``structures.prompts``; the reference's 80).
        max_captions (int, optional): Read only the first this many captions
            of the file (None: all).
        max_words (int, optional): Match only a caption's first this many
            tokens (the reference's NUS-WIDE: 77).
        max_per_class (int, optional): Keep at most this many captions per
            class, as the reference's NUS-WIDE (1000): each caption goes to
            its positive class with the fewest captions, classes in label
            order, captions in file order.
        data_root (str): Root folder.
        pipeline (Sequence[dict]): Transforms (``PackTextInputs``).
        **kwargs: Other ``BaseDataset`` arguments.
    """

    def __init__(self, ann_file: str,
                 class_names: Optional[ClassSource] = None,
                 split_file: Optional[str] = None,
                 synonyms: SynonymSource = None,
                 num_trained_classes: Optional[int] = None,
                 template_copies: int = 9,
                 templates: Union[str, Sequence[str]] = 'openai_imagenet_80',
                 max_captions: Optional[int] = None,
                 max_words: Optional[int] = None,
                 max_per_class: Optional[int] = None, data_root: str = '',
                 pipeline: Sequence[dict] = (), **kwargs) -> None:
        if (class_names is None) == (split_file is None):
            raise ValueError('CaptionLabelDataset needs class_names or '
                             'split_file (one of them)')
        if split_file is not None:
            class_names = osp.join(data_root, split_file)
        split = read_class_names(class_names)
        self.class_names = split.names
        num = len(self.class_names)
        trained = num_trained_classes
        if trained is None:
            trained = num if split.num_seen is None else split.num_seen
        if not 0 < trained <= num:
            raise ValueError(f'num_trained_classes={num_trained_classes} '
                             f'must lie in [1, {num}]')
        if template_copies < 0:
            raise ValueError('template_copies must be >= 0, got '
                             f'{template_copies}')
        self.num_trained_classes = trained
        self.synonyms = class_synonym_lists(self.class_names, synonyms)
        self.template_copies = template_copies
        self.templates = get_templates(templates) if templates else ()
        self.max_captions = max_captions
        self.max_words = max_words
        self.max_per_class = max_per_class
        metainfo = dict(classes=tuple(self.class_names),
                        seen_classes=tuple(self.class_names[:trained]),
                        unseen_classes=tuple(self.class_names[trained:]))
        super().__init__(ann_file=ann_file, data_root=data_root,
                         metainfo=metainfo, pipeline=list(pipeline),
                         **kwargs)

    def _item(self, text: str, labels: List[int]) -> dict:
        unknown = [-1.0] * (len(self.class_names) - len(labels))
        return dict(text=text,
                    gt_label=[i for i, v in enumerate(labels) if v],
                    gt_score=[float(v) for v in labels] + unknown)

    def _read_captions(self) -> List[str]:
        if self.ann_file.endswith('.jsonl'):
            records = read_json_lines(self.ann_file, 'captions file')
        else:
            data = read_json(self.ann_file, 'captions file')
            if not isinstance(data, dict) or not isinstance(
                    data.get('annotations'), list):
                raise ValueError(f'{self.ann_file}: expected a COCO captions '
                                 'json with a list of "annotations"')
            records = data['annotations']
        captions = []
        for rec in records[:self.max_captions]:
            caption = rec.get('caption') if isinstance(rec, dict) else None
            if not isinstance(caption, str):
                raise ValueError(f'{self.ann_file}: a record without a '
                                 f'caption string: {str(rec)[:80]}')
            captions.append(caption.strip())
        return captions

    def _limit_per_class(self, labelled: List[tuple]) -> List[tuple]:
        """The reference's NUS-WIDE rebalancing (``max_sample_per_cls``)."""
        counts = [0] * self.num_trained_classes
        for _, labels in labelled:
            for idx, v in enumerate(labels):
                counts[idx] += v
        # rarest first (a stable sort; the reference's torch.argsort leaves
        # the order of equal counts unspecified)
        order = sorted(range(len(counts)), key=counts.__getitem__)
        buckets: List[List[tuple]] = [[] for _ in counts]
        for item in labelled:
            buckets[next(i for i in order if item[1][i])].append(item)
        return [item for bucket in buckets
                for item in bucket[:self.max_per_class]]

    def load_data_list(self) -> List[dict]:
        """Label the captions, then add the class prompts."""
        trained = self.num_trained_classes
        labeler = CaptionLabeler(self.synonyms[:trained])
        labelled = []
        for caption in self._read_captions():
            labels = labeler.labels(caption, self.max_words)
            if labels is not None:
                labelled.append((caption, labels))
        if self.max_per_class is not None:
            labelled = self._limit_per_class(labelled)
        items = [self._item(caption, labels) for caption, labels in labelled]
        for idx, name in enumerate(self.class_names[:trained]):
            labels = [int(i == idx) for i in range(trained)]
            name = name.replace('_', ' ')
            texts = [f'a photo of a {name}.'] * self.template_copies
            texts += [t.format(name) for t in self.templates]
            items += [self._item(t, labels) for t in texts]
        if not items:
            raise ValueError(f'{self.ann_file}: no caption names a class '
                             'and no prompts were asked for')
        return items
