"""What a weights file holds: its tensors, its CLIP architecture, its kind.

Reads our checkpoints, open_clip files (``.bin`` / ``.pt``,
``.safetensors``) and OpenAI TorchScript archives, reads a CLIP
architecture (image size, patch size, widths, layers, embed dim) from
tensor shapes, and names the kind of file in one phrase; used by
:mod:`granzsl_mm.apis.weights`.
"""
import os.path as osp
import re
from typing import Any, Dict, List, Optional, Union

import torch

from granzsl_mm.utils.torchscript_archive import (
    is_torchscript_archive,
    read_torchscript_state_dict,
)

__all__ = ['CheckpointMismatchError', 'read_state_dict', 'clip_architecture',
           'config_clip_architecture', 'describe_file', 'arch_text',
           'arch_diff', 'clip_prefix', 'tensors_of', 'file_name',
           'describe_state']


class CheckpointMismatchError(ValueError):
    """A checkpoint does not fit the model built from the config."""


_CLIP_KEYS = ('visual.conv1.weight', 'token_embedding.weight',
              'text_projection', 'logit_scale', 'visual.proj')


# ------------------------------------------------------------ reading files
def read_state_dict(checkpoint: Union[str, dict],
                    allow_empty: bool = False) -> Dict[str, Any]:
    """The ``{name: tensor}`` of a checkpoint file or loaded object.

    Reads our checkpoints (``state_dict`` + ``meta``), open_clip files
    (``.bin`` / ``.pt``, ``.safetensors``) and OpenAI TorchScript archives;
    a ``module.`` prefix is removed.

    Args:
        checkpoint (str | dict): Path or loaded checkpoint.
        allow_empty (bool): Accept a state dict without tensors (a model
            whose weights are all frozen saves none).

    Returns:
        dict: The tensors, plus ``'__meta__'`` (the checkpoint's ``meta``,
        or ``{}``) and ``'__format__'`` (``'torchscript'``,
        ``'safetensors'`` or ``'torch'``).
    """
    fmt, meta = 'torch', {}
    if isinstance(checkpoint, str):
        if not osp.isfile(checkpoint):
            raise FileNotFoundError(f'checkpoint not found: {checkpoint}')
        if checkpoint.endswith('.safetensors'):
            from safetensors.torch import load_file
            obj, fmt = load_file(checkpoint), 'safetensors'
        elif is_torchscript_archive(checkpoint):
            # read as data: torch.jit.load would run the archive's code
            obj = read_torchscript_state_dict(checkpoint)
            fmt = 'torchscript'
        else:
            from mmengine.runner.checkpoint import _load_checkpoint
            obj = _load_checkpoint(checkpoint, map_location='cpu')
    else:
        obj = checkpoint
    if not isinstance(obj, dict):
        raise CheckpointMismatchError(
            f'{file_name(checkpoint)} holds a {type(obj).__name__}, not a state '
            'dict of tensors.')
    if isinstance(obj.get('meta'), dict):
        meta = obj['meta']
    state = obj.get('state_dict', obj.get('model', obj))
    if not isinstance(state, dict):
        raise CheckpointMismatchError(
            f'{file_name(checkpoint)} holds no state dict of tensors.')
    state = {(k[len('module.'):] if k.startswith('module.') else k): v
             for k, v in state.items() if isinstance(v, torch.Tensor)}
    if not state and not allow_empty:
        raise CheckpointMismatchError(
            f'{file_name(checkpoint)} holds no tensors.')
    state['__meta__'] = meta
    state['__format__'] = fmt
    return state


def file_name(checkpoint: Union[str, dict]) -> str:
    return (osp.basename(checkpoint) if isinstance(checkpoint, str)
            else 'the checkpoint')


def tensors_of(state: Dict[str, Any]) -> Dict[str, torch.Tensor]:
    return {k: v for k, v in state.items() if not k.startswith('__')}


# ------------------------------------------------------ CLIP architectures
def clip_prefix(keys: List[str]) -> Optional[str]:
    """The prefix under which a CLIP state dict sits (``''``,
    ``'backbone.clip.'``, ...), None when there is none."""
    for key in keys:
        if key.endswith('visual.conv1.weight'):
            return key[:-len('visual.conv1.weight')]
    return None


def _count_blocks(keys: List[str], prefix: str) -> int:
    pattern = re.compile(re.escape(prefix) + r'resblocks\.(\d+)\.')
    found = {int(m.group(1)) for k in keys for m in [pattern.match(k)] if m}
    return max(found) + 1 if found else 0


def clip_architecture(state: Dict[str, Any]) -> Optional[Dict[str, int]]:
    """The CLIP architecture a state dict holds, read from tensor shapes.

    Args:
        state (dict): A state dict (open_clip keys, possibly under a prefix
            such as ``backbone.clip.``).

    Returns:
        dict | None: ``embed_dim``, ``image_size``, ``patch_size``,
        ``vision_width``, ``vision_layers``, ``text_width``, ``text_layers``,
        ``context_length`` (those found), or None when the state dict holds
        no open_clip ViT image tower.
    """
    tensors = tensors_of(state)
    keys = list(tensors)
    prefix = clip_prefix(keys)
    if prefix is None:
        return None
    arch = {}
    conv = tensors[prefix + 'visual.conv1.weight']
    arch['vision_width'] = int(conv.shape[0])
    arch['patch_size'] = int(conv.shape[-1])
    pos = tensors.get(prefix + 'visual.positional_embedding')
    if pos is not None:
        grid = int(round((pos.shape[0] - 1) ** 0.5))
        arch['image_size'] = grid * arch['patch_size']
    arch['vision_layers'] = _count_blocks(keys, prefix + 'visual.transformer.')
    proj = tensors.get(prefix + 'visual.proj')
    if proj is not None:
        arch['embed_dim'] = int(proj.shape[1])
    tok = tensors.get(prefix + 'token_embedding.weight')
    if tok is not None:
        arch['text_width'] = int(tok.shape[1])
    arch['text_layers'] = _count_blocks(keys, prefix + 'transformer.')
    tpos = tensors.get(prefix + 'positional_embedding')
    if tpos is not None:
        arch['context_length'] = int(tpos.shape[0])
    return arch


def config_clip_architecture(arch: str, model_cfg: Optional[dict] = None
                             ) -> Optional[Dict[str, int]]:
    """The architecture an open_clip name (or config dict) asks for.

    Args:
        arch (str): open_clip architecture name.
        model_cfg (dict, optional): Custom open_clip config dict.

    Returns:
        dict | None: Same keys as :func:`clip_architecture`; None for
        names open_clip does not know locally (``hf-hub:``).
    """
    import open_clip

    from granzsl_mm.models.backbones.open_clip_builder import register_own_configs
    register_own_configs()
    cfg = model_cfg or open_clip.get_model_config(arch)
    if not cfg:
        return None
    vision, text = cfg.get('vision_cfg', {}), cfg.get('text_cfg', {})
    image = vision.get('image_size', 224)
    image = image[0] if isinstance(image, (list, tuple)) else image
    patch = vision.get('patch_size', 16)
    patch = patch[0] if isinstance(patch, (list, tuple)) else patch
    return dict(embed_dim=cfg.get('embed_dim'), image_size=image,
                patch_size=patch, vision_width=vision.get('width', 768),
                vision_layers=vision.get('layers', 12),
                text_width=text.get('width', 512),
                text_layers=text.get('layers', 12),
                context_length=text.get('context_length', 77))


def arch_text(arch: Dict[str, int]) -> str:
    order = ('image_size', 'patch_size', 'vision_width', 'vision_layers',
             'text_width', 'text_layers', 'embed_dim', 'context_length')
    return ', '.join(f'{k}={arch[k]}' for k in order if k in arch)


def arch_diff(have: Dict[str, int], want: Dict[str, int]) -> List[str]:
    return [f'{k} {have[k]} (config {want[k]})' for k in have
            if k in want and want[k] is not None and have[k] != want[k]]


def describe_file(checkpoint: Union[str, dict]) -> str:
    """One phrase saying what a weights file is.

    Args:
        checkpoint (str | dict): Path or loaded checkpoint.

    Returns:
        str: e.g. ``'an OpenAI CLIP TorchScript file (image_size=224, ...)'``,
        ``'an open_clip / OpenAI CLIP weights file (...)'``, ``'a granzsl_mm
        checkpoint of a GranZSL model'``.
    """
    state = (checkpoint if isinstance(checkpoint, dict)
             and '__format__' in checkpoint else read_state_dict(checkpoint))
    return describe_state(state)


def describe_state(state: Dict[str, Any]) -> str:
    tensors = tensors_of(state)
    prefix = clip_prefix(list(tensors))
    arch = clip_architecture(state)
    if prefix == '' or (prefix is None and any(k in tensors for k in
                                               _CLIP_KEYS)):
        kind = ('an OpenAI CLIP TorchScript file'
                if state.get('__format__') == 'torchscript'
                else 'an open_clip / OpenAI CLIP weights file')
        return kind + (f' ({arch_text(arch)})' if arch else '')
    meta = state.get('__meta__') or {}
    model_type = _model_type(meta)
    if meta or '.' in next(iter(tensors)):
        heads = sorted({k.split('.')[0] for k in tensors})
        what = (f'a checkpoint of a {model_type} model' if model_type
                else f'a model checkpoint with {", ".join(heads[:4])} weights')
        return what + (f' (its CLIP: {arch_text(arch)})' if arch else '')
    return f'a file of {len(tensors)} tensors'


def _model_type(meta: dict) -> Optional[str]:
    cfg = meta.get('cfg')
    if isinstance(cfg, str):
        match = re.search(r"model\s*=\s*dict\(\s*type\s*=\s*'([^']+)'", cfg)
        if match:
            return match.group(1)
    return None
