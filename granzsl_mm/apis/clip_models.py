"""The CLIP architectures and weights we build, with what each one needs.

:func:`list_clip_models` answers, for every open_clip pretrained entry
(``open_clip.list_pretrained()``) and for our own architectures
(``TinyCLIP-world``, ``TinyCLIP-test``), the activation the model is built
with (QuickGELU or GELU, as
:func:`~granzsl_mm.models.backbones.open_clip_builder.resolve_quick_gelu`
decides it when ``OpenCLIPBackbone`` builds it), the input size and the
preprocessing mean / std. Everything is read from open_clip's own metadata
(its architecture configs and pretrained table): nothing is downloaded.
"""
import fnmatch
from typing import Dict, List, Optional

__all__ = ['list_clip_models']


def _preprocess(arch: str, tag: Optional[str]) -> dict:
    """open_clip's preprocessing of ``arch`` / ``tag`` as ``create_model``
    sets it: defaults, then the tag's values, the size from the
    architecture."""
    from dataclasses import asdict

    import open_clip
    from open_clip.transform import PreprocessCfg, merge_preprocess_dict
    cfg = asdict(PreprocessCfg())
    if tag is not None:
        cfg = merge_preprocess_dict(cfg,
                                    open_clip.get_pretrained_cfg(arch, tag))
    vision = (open_clip.get_model_config(arch) or {}).get('vision_cfg') or {}
    size = vision.get('image_size', cfg['size'])
    cfg['size'] = tuple(size) if isinstance(size, (list, tuple)) else (
        int(size), int(size))
    return cfg


def list_clip_models(pattern: Optional[str] = None) -> List[Dict]:
    """What every CLIP we can build takes, from open_clip's metadata.

    Args:
        pattern (str, optional): fnmatch pattern on ``'<arch>/<tag>'``
            (e.g. ``'ViT-B-16/*'``, ``'*/openai'``); our own architectures
            have the tag ``'random'``.

    Returns:
        list[dict]: Sorted by architecture then tag; each ``arch``, ``tag``,
        ``activation`` (``'quick_gelu'`` or ``'gelu'``), ``input_size``
        (``(H, W)``), ``mean`` and ``std`` (0-1, RGB), ``interpolation``,
        ``resize_mode`` and ``own`` (True for our architecture files).
    """
    import open_clip

    from granzsl_mm.models.backbones.open_clip_builder import (
        own_architectures,
        register_own_configs,
        resolve_quick_gelu,
    )
    register_own_configs()
    own = own_architectures()
    entries = [(arch, tag) for arch, tag in open_clip.list_pretrained()
               if open_clip.get_model_config(arch) is not None]
    entries += [(arch, None) for arch in own]
    out = []
    for arch, tag in sorted(entries, key=lambda e: (e[0], e[1] or '')):
        name = f'{arch}/{tag or "random"}'
        if pattern and not fnmatch.fnmatch(name, pattern):
            continue
        pre = _preprocess(arch, tag)
        quick = resolve_quick_gelu(arch, tag)
        out.append(dict(arch=arch, tag=tag or 'random',
                        activation='quick_gelu' if quick else 'gelu',
                        input_size=pre['size'],
                        mean=tuple(float(v) for v in pre['mean']),
                        std=tuple(float(v) for v in pre['std']),
                        interpolation=pre['interpolation'],
                        resize_mode=pre['resize_mode'],
                        own=arch in own))
    return out
