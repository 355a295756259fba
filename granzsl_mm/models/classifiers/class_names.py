"""Class names in label order for models that embed them with CLIP (MKT,
SigRL): a list, a text / JSON file, or a seen / unseen pair of them. A thin
wrapper of the one reader, :func:`granzsl_mm.structures.read_class_names`."""
from typing import Dict, List, Sequence, Union

from granzsl_mm.structures.class_names import read_class_names

__all__ = ['ClassNames', 'resolve_class_names']

ClassNames = Union[str, Sequence[str], Dict[str, Union[str, Sequence[str]]]]


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
    return read_class_names(spec).names
