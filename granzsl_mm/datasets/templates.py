"""Prompt templates filled with a class name (description sentences): a
re-export of their one home, :mod:`granzsl_mm.structures.prompts` (set
names ``'single'``, ``'openai_imagenet_80'``)."""
from granzsl_mm.structures.prompts import (
    OPENAI_IMAGENET_TEMPLATES,
    TEMPLATE_SETS,
    fill_templates,
    resolve_templates,
)

__all__ = ['OPENAI_IMAGENET_TEMPLATES', 'TEMPLATE_SETS', 'resolve_templates',
           'fill_templates']
