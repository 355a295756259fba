"""Convert learned GranZSL class names between the reference and our layout.

The reference implementation builds on the DualCoOp code base, which saves
``{'state_dict': model.state_dict(), 'epoch': ..., ...}`` (``checkpoint.pth.tar``
/ ``model_best.pth.tar``, keys behind ``module.`` under DataParallel). Its
learned class-name vectors are the prompt learner's ``[C, n, width]`` tensor,
``prompt_learner.ctx``; a Dassl/CoOp-style file (``{'state_dict': {'ctx':
...}}``) and flat state dicts are read as well, and ``--key`` names any other
key. Everything else (the frozen CLIP weights, the ``token_prefix`` /
``token_suffix`` buffers derived from the text tower) is dropped. Ours
stores ``name_learner.name_vectors`` in an mmengine checkpoint; the class
rows must be in our label order (seen then unseen, the split file's order):
``--src-classes`` / ``--dst-classes`` permute them otherwise.

Command line: ``tools/model_converters/granzsl_to_ours.py``::

    # reference -> ours (then: tools/test.py CONFIG OUT.pth --tta)
    python tools/model_converters/granzsl_to_ours.py REF.pth OUT.pth
    # ours -> reference layout
    python tools/model_converters/granzsl_to_ours.py OURS.pth REF.pth --reverse
    # rows in another class order: --src-classes / --dst-classes name lists
"""
import json
from typing import Dict, List, Optional, Sequence, Tuple

import torch

__all__ = ['OUR_KEY', 'REFERENCE_KEYS', 'LAYOUTS', 'find_reference_vectors',
           'reorder', 'reference_to_ours', 'ours_to_reference']

OUR_KEY = 'name_learner.name_vectors'
REFERENCE_KEYS = ('prompt_learner.ctx', 'ctx')
LAYOUTS = ('dualcoop', 'dassl', 'flat')


def _state_dict(ckpt: dict) -> Dict[str, torch.Tensor]:
    for key in ('state_dict', 'model'):
        if isinstance(ckpt.get(key), dict):
            return ckpt[key]
    return ckpt


def find_reference_vectors(ckpt: dict,
                           key: Optional[str] = None) -> Tuple[str, torch.Tensor]:
    """Locate the learned ``[C, n, width]`` class-name tensor of a reference
    checkpoint.

    Args:
        ckpt (dict): The loaded checkpoint.
        key (str, optional): Exact key; by default ``prompt_learner.ctx`` or
            ``ctx`` (with an optional ``module.`` prefix).

    Returns:
        tuple[str, torch.Tensor]: The key found and the tensor.
    """
    state = _state_dict(ckpt)
    if key is not None:
        if key not in state:
            raise KeyError(f'{key!r} not in the checkpoint; keys: {sorted(state)}')
        found = [key]
    else:
        found = [k for k in state
                 if k.removeprefix('module.') in REFERENCE_KEYS]
    if len(found) != 1:
        raise KeyError(f'expected one of {REFERENCE_KEYS} in the checkpoint, '
                       f'found {found}; keys: {sorted(state)} (pass --key)')
    tensor = state[found[0]]
    if not torch.is_tensor(tensor) or tensor.dim() != 3:
        shape = tuple(tensor.shape) if torch.is_tensor(tensor) else type(tensor)
        raise ValueError(f'{found[0]!r} must be class-specific [C, n, width] '
                         f'vectors, got {shape} (a shared [n, width] context '
                         'is not a GranZSL class-name checkpoint)')
    return found[0], tensor


def reorder(vectors: torch.Tensor, src_classes: Optional[Sequence[str]],
            dst_classes: Optional[Sequence[str]]) -> torch.Tensor:
    """Permute rows from the source class order to the destination order."""
    if src_classes is None and dst_classes is None:
        return vectors
    if src_classes is None or dst_classes is None:
        raise ValueError('give both --src-classes and --dst-classes')
    if len(src_classes) != vectors.shape[0]:
        raise ValueError(f'{len(src_classes)} source classes for '
                         f'{vectors.shape[0]} rows')
    missing = [c for c in dst_classes if c not in src_classes]
    if missing:
        raise ValueError(f'classes missing from the source: {missing}')
    index = torch.tensor([list(src_classes).index(c) for c in dst_classes])
    return vectors[index]


def reference_to_ours(ckpt: dict, key: Optional[str] = None,
                      src_classes: Optional[Sequence[str]] = None,
                      dst_classes: Optional[Sequence[str]] = None) -> dict:
    """Reference checkpoint -> our (mmengine) checkpoint dict."""
    found, vectors = find_reference_vectors(ckpt, key)
    vectors = reorder(vectors.detach().float().cpu(), src_classes, dst_classes)
    return dict(state_dict={OUR_KEY: vectors.contiguous()},
                meta=dict(converted_from='granzsl-reference', source_key=found,
                          num_classes=vectors.shape[0],
                          num_tokens=vectors.shape[1]))


def ours_to_reference(ckpt: dict, layout: str = 'dualcoop',
                      src_classes: Optional[Sequence[str]] = None,
                      dst_classes: Optional[Sequence[str]] = None) -> dict:
    """Our checkpoint -> a reference layout (names only, no CLIP weights).

    ``'dualcoop'``: ``{'state_dict': {'prompt_learner.ctx': T}}``;
    ``'dassl'``: ``{'state_dict': {'ctx': T}}``; ``'flat'``:
    ``{'prompt_learner.ctx': T}``.
    """
    state = _state_dict(ckpt)
    matches = [k for k in state if k.removeprefix('module.') == OUR_KEY]
    if len(matches) != 1:
        raise KeyError(f'{OUR_KEY!r} not in the checkpoint; keys: {sorted(state)}')
    vectors = reorder(state[matches[0]].detach().float().cpu(), src_classes,
                      dst_classes).contiguous()
    if layout == 'dualcoop':
        return dict(state_dict={'prompt_learner.ctx': vectors}, epoch=None)
    if layout == 'dassl':
        return dict(state_dict=dict(ctx=vectors), epoch=None)
    if layout == 'flat':
        return {'prompt_learner.ctx': vectors}
    raise ValueError(f'layout must be one of {LAYOUTS}, got {layout!r}')


def _read_names(path: Optional[str]) -> Optional[List[str]]:
    if path is None:
        return None
    with open(path, encoding='utf-8') as f:
        text = f.read()
    if path.endswith('.json'):
        data = json.loads(text)
        if isinstance(data, dict):  # our split file: seen then unseen
            return list(data['seen']) + list(data['unseen'])
        return list(data)
    return [line.strip() for line in text.splitlines() if line.strip()]
