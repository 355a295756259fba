"""Prompt templates (data). ``{}`` is replaced by the class name."""
__all__ = ['SINGLE_TEMPLATE', 'OPENAI_IMAGENET_TEMPLATES', 'get_templates']

SINGLE_TEMPLATE = ('a photo of a {}.', )

# The 80 prompt templates of CLIP's ImageNet zero-shot evaluation.
OPENAI_IMAGENET_TEMPLATES = (
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

_NAMED = {'single': SINGLE_TEMPLATE, 'openai_imagenet': OPENAI_IMAGENET_TEMPLATES}


def get_templates(templates='single') -> tuple:
    """Resolve a template set name (``'single'``, ``'openai_imagenet'``) or list.

    Args:
        templates: A set name, or a list of strings each containing ``{}``.

    Returns:
        tuple: The template strings.
    """
    if isinstance(templates, str):
        if templates not in _NAMED:
            raise KeyError(f'unknown template set {templates!r}; one of '
                           f'{list(_NAMED)} or a list of strings')
        return _NAMED[templates]
    templates = tuple(templates)
    bad = [t for t in templates if '{}' not in t]
    if not templates or bad:
        raise ValueError(f'templates must be non-empty and contain {{}}: {bad}')
    return templates
