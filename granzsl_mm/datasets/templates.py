"""Prompt templates filled with a class name (architecture as data).

``OPENAI_IMAGENET_TEMPLATES`` are the 80 prompts that CLIP's authors
ensembled for ImageNet zero-shot classification; GranZSL adds them, filled
with each class name, to the description sentences it trains on.
"""
from typing import Dict, List, Sequence, Tuple, Union

__all__ = ['OPENAI_IMAGENET_TEMPLATES', 'TEMPLATE_SETS', 'resolve_templates',
           'fill_templates']

OPENAI_IMAGENET_TEMPLATES: Tuple[str, ...] = (
    'a bad photo of a {}.',
    'a photo of many {}.',
    'a sculpture of a {}.',
    'a photo of the hard to see {}.',
    'a low resolution photo of the {}.',
    'a rendering of a {}.',
    'graffiti of a {}.',
    'a bad photo of the {}.',
    'a cropped photo of the {}.',
    'a tattoo of a {}.',
    'the embroidered {}.',
    'a photo of a hard to see {}.',
    'a bright photo of a {}.',
    'a photo of a clean {}.',
    'a photo of a dirty {}.',
    'a dark photo of the {}.',
    'a drawing of a {}.',
    'a photo of my {}.',
    'the plastic {}.',
    'a photo of the cool {}.',
    'a close-up photo of a {}.',
    'a black and white photo of the {}.',
    'a painting of the {}.',
    'a painting of a {}.',
    'a pixelated photo of the {}.',
    'a sculpture of the {}.',
    'a bright photo of the {}.',
    'a cropped photo of a {}.',
    'a plastic {}.',
    'a photo of the dirty {}.',
    'a jpeg corrupted photo of a {}.',
    'a blurry photo of the {}.',
    'a photo of the {}.',
    'a good photo of the {}.',
    'a rendering of the {}.',
    'a {} in a video game.',
    'a photo of one {}.',
    'a doodle of a {}.',
    'a close-up photo of the {}.',
    'a photo of a {}.',
    'the origami {}.',
    'the {} in a video game.',
    'a sketch of a {}.',
    'a doodle of the {}.',
    'a origami {}.',
    'a low resolution photo of a {}.',
    'the toy {}.',
    'a rendition of the {}.',
    'a photo of the clean {}.',
    'a photo of a large {}.',
    'a rendition of a {}.',
    'a photo of a nice {}.',
    'a photo of a weird {}.',
    'a blurry photo of a {}.',
    'a cartoon {}.',
    'art of a {}.',
    'a sketch of the {}.',
    'a embroidered {}.',
    'a pixelated photo of a {}.',
    'itap of the {}.',
    'a jpeg corrupted photo of the {}.',
    'a good photo of a {}.',
    'a plushie {}.',
    'a photo of the nice {}.',
    'a photo of the small {}.',
    'a photo of the weird {}.',
    'the cartoon {}.',
    'art of the {}.',
    'a drawing of the {}.',
    'a photo of the large {}.',
    'a black and white photo of a {}.',
    'the plushie {}.',
    'a dark photo of a {}.',
    'itap of a {}.',
    'graffiti of the {}.',
    'a toy {}.',
    'itap of my {}.',
    'a photo of a cool {}.',
    'a photo of a small {}.',
    'a tattoo of the {}.',
)

TEMPLATE_SETS: Dict[str, Tuple[str, ...]] = {
    'openai_imagenet_80': OPENAI_IMAGENET_TEMPLATES,
    'a_photo_of': ('a photo of a {}.', ),
}


def resolve_templates(
        templates: Union[None, str, Sequence[str]]) -> List[str]:
    """Turn a template-set name or a list of templates into a list.

    Args:
        templates (None | str | Sequence[str]): ``None`` (no templates), a
            name in :data:`TEMPLATE_SETS`, or templates each holding one
            ``{}`` for the class name.

    Returns:
        list[str]: The templates.
    """
    if templates is None:
        return []
    if isinstance(templates, str):
        if templates not in TEMPLATE_SETS:
            raise KeyError(f'unknown template set {templates!r}; known: '
                           f'{sorted(TEMPLATE_SETS)} (or pass a list)')
        return list(TEMPLATE_SETS[templates])
    out = list(templates)
    bad = [t for t in out if not isinstance(t, str) or t.count('{}') != 1]
    if bad:
        raise ValueError(f'each template needs exactly one "{{}}": {bad}')
    return out


def fill_templates(name: str,
                   templates: Union[None, str, Sequence[str]]) -> List[str]:
    """Fill each template with a class name.

    Args:
        name (str): The class name.
        templates (None | str | Sequence[str]): See :func:`resolve_templates`.

    Returns:
        list[str]: One sentence per template, in template order.
    """
    return [t.format(name) for t in resolve_templates(templates)]
