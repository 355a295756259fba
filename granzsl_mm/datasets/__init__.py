"""datasets of granzsl_mm."""

__all__: list = []

# Class descriptions (GranZSL text-only training).
from .class_description_dataset import (  # noqa: E402
    ClassDescriptionDataset,
    read_class_split,
)
from .description_expansion import expand_descriptions, expand_entry  # noqa: E402
from .descriptions import (  # noqa: E402
    DESCRIPTION_FORMAT,
    DescriptionError,
    check_classes,
    load_any_descriptions,
    load_descriptions,
    read_post_llm,
    save_descriptions,
)
from .pack_text_inputs import PackTextInputs  # noqa: E402
from .templates import OPENAI_IMAGENET_TEMPLATES, TEMPLATE_SETS  # noqa: E402

__all__ += [
    'ClassDescriptionDataset', 'read_class_split', 'expand_descriptions',
    'expand_entry', 'DESCRIPTION_FORMAT', 'DescriptionError', 'check_classes',
    'load_any_descriptions', 'load_descriptions', 'read_post_llm',
    'save_descriptions', 'PackTextInputs', 'OPENAI_IMAGENET_TEMPLATES',
    'TEMPLATE_SETS'
]
