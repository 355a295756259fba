"""Prompt templates of the text encoders: a re-export of their one home,
:mod:`granzsl_mm.structures.prompts` (set names ``'single'``,
``'openai_imagenet_80'``)."""
from granzsl_mm.structures.prompts import (
    OPENAI_IMAGENET_TEMPLATES,
    SINGLE_TEMPLATE,
    get_templates,
)

__all__ = ['SINGLE_TEMPLATE', 'OPENAI_IMAGENET_TEMPLATES', 'get_templates']
