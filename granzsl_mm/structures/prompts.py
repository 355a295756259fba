"""Prompt templates (data): ``{}`` is replaced by the class name.

The one home of every named template set. Both wings use it: the text
encoder ensembles the templates of a class name (``models``), the
description dataset adds the filled templates to a class's sentences
(``datasets``).

Template sets, by name (:data:`TEMPLATE_SETS`):

* ``'single'``: ``'a photo of a {}.'``, CLIP's basic prompt;
* ``'openai_imagenet_80'``: the 80 prompts that CLIP's authors ensembled
  for ImageNet zero-shot classification;
* ``'tagclip_85'``: those 80 and five scene prompts, TagCLIP's ensemble
  (``linyq2117/TagCLIP``, ``clip/clip.py:encode_text_with_prompt_ensemble``).

Single prompts, by method: :data:`CLIP_TEMPLATE` (``'a photo of a {}.'``,
the zero-shot CLIP baseline and GranZSL's class-name learner) and
:data:`MKT_TEMPLATE` (``'There is a {} in the scene'``, MKT's and SigRL's
label prompt, stage 1 and stage 2; no period, as in MKT's stage 2).
"""
from typing import Dict, List, Sequence, Tuple, Union

__all__ = ['CLIP_TEMPLATE', 'MKT_TEMPLATE', 'SINGLE_TEMPLATE',
           'OPENAI_IMAGENET_TEMPLATES', 'TAGCLIP_TEMPLATES', 'TEMPLATE_SETS',
           'template_set',
           'get_templates', 'resolve_templates', 'fill_templates']

Templates = Union[None, str, Sequence[str]]

CLIP_TEMPLATE: str = 'a photo of a {}.'
MKT_TEMPLATE: str = 'There is a {} in the scene'

SINGLE_TEMPLATE: Tuple[str, ...] = (CLIP_TEMPLATE, )

# The 80 prompt templates of CLIP's ImageNet zero-shot evaluation.
OPENAI_IMAGENET_TEMPLATES: Tuple[str, ...] = (
    'a bad photo of a {}.', 'a photo of many {}.', 'a sculpture of a {}.',
    'a photo of the hard to see {}.', 'a low resolution photo of the {}.',
    'a rendering of a {}.', 'graffiti of a {}.', 'a bad photo of the {}.',
    'a cropped photo of the {}.', 'a tattoo of a {}.',
    'the embroidered {}.', 'a photo of a hard to see {}.',
    'a bright photo of a {}.', 'a photo of a clean {}.',
    'a photo of a dirty {}.', 'a dark photo of the {}.',
    'a drawing of a {}.', 'a photo of my {}.', 'the plastic {}.',
    'a photo of the cool {}.', 'a close-up photo of a {}.',
    'a black and white photo of the {}.', 'a painting of the {}.',
    'a painting of a {}.', 'a pixelated photo of the {}.',
    'a sculpture of the {}.', 'a bright photo of the {}.',
    'a cropped photo of a {}.', 'a plastic {}.', 'a photo of the dirty {}.',
    'a jpeg corrupted photo of a {}.', 'a blurry photo of the {}.',
    'a photo of the {}.', 'a good photo of the {}.', 'a rendering of the {}.',
    'a {} in a video game.', 'a photo of one {}.', 'a doodle of a {}.',
    'a close-up photo of the {}.', 'a photo of a {}.', 'the origami {}.',
    'the {} in a video game.', 'a sketch of a {}.', 'a doodle of the {}.',
    'a origami {}.', 'a low resolution photo of a {}.', 'the toy {}.',
    'a rendition of the {}.', 'a photo of the clean {}.',
    'a photo of a large {}.', 'a rendition of a {}.', 'a photo of a nice {}.',
    'a photo of a weird {}.', 'a blurry photo of a {}.', 'a cartoon {}.',
    'art of a {}.', 'a sketch of the {}.', 'a embroidered {}.',
    'a pixelated photo of a {}.', 'itap of the {}.',
    'a jpeg corrupted photo of the {}.', 'a good photo of a {}.',
    'a plushie {}.', 'a photo of the nice {}.', 'a photo of the small {}.',
    'a photo of the weird {}.', 'the cartoon {}.', 'art of the {}.',
    'a drawing of the {}.', 'a photo of the large {}.',
    'a black and white photo of a {}.', 'the plushie {}.',
    'a dark photo of a {}.', 'itap of a {}.', 'graffiti of the {}.',
    'a toy {}.', 'itap of my {}.', 'a photo of a cool {}.',
    'a photo of a small {}.', 'a tattoo of the {}.',
)

# TagCLIP's ensemble: CLIP's 80, then five scene prompts (its order).
TAGCLIP_TEMPLATES: Tuple[str, ...] = OPENAI_IMAGENET_TEMPLATES + (
    'there is a {} in the scene.', 'there is the {} in the scene.',
    'this is a {} in the scene.', 'this is the {} in the scene.',
    'this is one {} in the scene.',
)

TEMPLATE_SETS: Dict[str, Tuple[str, ...]] = {
    'single': SINGLE_TEMPLATE,
    'openai_imagenet_80': OPENAI_IMAGENET_TEMPLATES,
    'tagclip_85': TAGCLIP_TEMPLATES,
}


def template_set(name: str) -> Tuple[str, ...]:
    """The templates of a named set.

    Args:
        name (str): A key of :data:`TEMPLATE_SETS`.

    Returns:
        tuple[str]: The templates.

    Raises:
        KeyError: An unknown name.
    """
    if name not in TEMPLATE_SETS:
        raise KeyError(f'unknown template set {name!r}; one of '
                       f'{list(TEMPLATE_SETS)} or a list of strings')
    return TEMPLATE_SETS[name]


def get_templates(templates: Union[str, Sequence[str]] = 'single') -> tuple:
    """Resolve a template set name or a list (text encoders' ensembles).

    Args:
        templates (str | Sequence[str]): A set name (see
            :func:`template_set`), or a non-empty list of strings each
            containing ``{}``.

    Returns:
        tuple: The template strings.

    Raises:
        KeyError: An unknown set name.
        ValueError: An empty list, or a template without ``{}``.
    """
    if isinstance(templates, str):
        return template_set(templates)
    templates = tuple(templates)
    bad = [t for t in templates if '{}' not in t]
    if not templates or bad:
        raise ValueError(f'templates must be non-empty and contain {{}}: {bad}')
    return templates


def resolve_templates(templates: Templates) -> List[str]:
    """Turn a template-set name or a list of templates into a list
    (description sentences).

    Args:
        templates (None | str | Sequence[str]): ``None`` (no templates), a
            set name (see :func:`template_set`), or templates each holding
            exactly one ``{}`` for the class name.

    Returns:
        list[str]: The templates.

    Raises:
        KeyError: An unknown set name.
        ValueError: A template that is not a string with one ``{}``.
    """
    if templates is None:
        return []
    if isinstance(templates, str):
        return list(template_set(templates))
    out = list(templates)
    bad = [t for t in out if not isinstance(t, str) or t.count('{}') != 1]
    if bad:
        raise ValueError(f'each template needs exactly one "{{}}": {bad}')
    return out


def fill_templates(name: str, templates: Templates) -> List[str]:
    """Fill each template with a class name.

    Args:
        name (str): The class name.
        templates (None | str | Sequence[str]): See
            :func:`resolve_templates`.

    Returns:
        list[str]: One sentence per template, in template order.
    """
    return [t.format(name) for t in resolve_templates(templates)]
