"""Class names in label order for models that embed them with CLIP (MKT,
SigRL): a list, a text / JSON file, or a seen / unseen pair of them."""
import json
import os.path as osp
from typing import Dict, List, Sequence, Union

__all__ = ['ClassNames', 'resolve_class_names']

ClassNames = Union[str, Sequence[str], Dict[str, Union[str, Sequence[str]]]]


def _read_names(spec: Union[str, Sequence[str]]) -> List[str]:
    if not isinstance(spec, str):
        return [str(n) for n in spec]
    if not osp.isfile(spec):
        raise FileNotFoundError(f'class name file not found: {spec}')
    if spec.endswith('.json'):
        with open(spec, encoding='utf-8') as f:
            data = json.load(f)
        if isinstance(data, dict):
            return resolve_class_names(data)
        return [str(n) for n in data]
    with open(spec, encoding='utf-8') as f:
        return [line.strip() for line in f if line.strip()]


def resolve_class_names(spec: ClassNames) -> List[str]:
    """Class names in label order (seen then unseen).

    Args:
        spec: A list of names; a path to a text file (one name per line) or a
            JSON file (a list, or ``{"seen": [...], "unseen": [...]}``); or a
            dict ``seen=..., unseen=...`` whose values are lists or such
            files. Seen names that are also unseen are removed from the seen
            list (NUS-WIDE: the 1000 tags minus the 81 concepts = 925).

    Returns:
        list[str]: The names.
    """
    if isinstance(spec, dict):
        if 'seen' not in spec:
            raise ValueError('a class-name dict needs "seen" (and "unseen")')
        unseen = _read_names(spec.get('unseen', []))
        drop = set(unseen)
        seen = [n for n in _read_names(spec['seen']) if n not in drop]
        return seen + unseen
    return _read_names(spec)
