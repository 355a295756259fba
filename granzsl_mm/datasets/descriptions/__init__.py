"""Class descriptions: the format, its IO and the released formats, the
expansion into sentences, LLM generation and the text-only dataset."""
from .dataset import ClassDescriptionDataset, read_class_split
from .expansion import expand_descriptions, expand_entry
from .format import (
    DESCRIPTION_FORMAT,
    SOURCES,
    TEXT_FIELDS,
    DescriptionError,
    check_classes,
    normalize_class_name,
    validate_description_dict,
    validate_entry,
)
from .io import (
    atomic_write_json,
    load_any_descriptions,
    load_descriptions,
    read_post_llm,
    save_descriptions,
    shipped_description_file,
)

__all__ = [
    'ClassDescriptionDataset', 'read_class_split', 'expand_descriptions',
    'expand_entry', 'DESCRIPTION_FORMAT', 'SOURCES', 'TEXT_FIELDS',
    'DescriptionError', 'check_classes', 'normalize_class_name',
    'validate_description_dict', 'validate_entry', 'atomic_write_json',
    'load_any_descriptions', 'load_descriptions', 'read_post_llm',
    'save_descriptions', 'shipped_description_file'
]
