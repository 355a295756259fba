"""Convert learned GranZSL class names between the reference and our layout.

The authors' code (wangshouwen/RCNn, ``train_text.py``) saves
``checkpoint.pth.tar`` and, beside it, ``unseen_model_best.pth.tar`` /
``gzsl_model_best.pth.tar``, all ``{'epoch', 'state_dict', 'best_unseen_F1',
'best_gzsl_F1', 'optimizer', 'scheduler'}`` where ``state_dict`` is its
``ClsnameLearner``'s: ``{'clsn': [C, n, width], 'token_prefix': [1, 5,
width], 'token_suffix': [1, 77 - 5 - n, width]}`` (the two buffers are the
token embedding of ``"a photo of a X X X X."``: SOT + the 4 context words,
then ``.`` + EOT + padding rows, which are token id 0's embedding). RCNn
writes ``best_gzsl_F1`` with the *unseen* best (a bug: read, reported in
``meta``, not corrected). Its ``scheduler`` entry holds a live
``CosineAnnealingLR`` object, so the safe loader refuses the real files:
``--trust-checkpoint`` opens them (files you trust only). This layout is
read with no flag; :func:`ours_to_reference` with ``layout='rcnn'`` writes
it back (:func:`rcnn_prompt_buffers` recomputes the buffers from the text
tower).

Other CoOp-style code bases are read too: DualCoOp saves
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
from typing import Dict, List, Optional, Sequence, Tuple

import torch

from granzsl_mm.structures.class_names import read_class_names

__all__ = ['OUR_KEY', 'REFERENCE_KEYS', 'LAYOUTS', 'RCNN_CTX_INIT',
           'find_reference_vectors', 'reorder', 'reference_to_ours',
           'ours_to_reference', 'rcnn_prompt', 'rcnn_prompt_buffers']

OUR_KEY = 'name_learner.name_vectors'
REFERENCE_KEYS = ('clsn', 'prompt_learner.clsn', 'prompt_learner.ctx', 'ctx')
LAYOUTS = ('rcnn', 'dualcoop', 'dassl', 'flat')
RCNN_CTX_INIT = 'a photo of a'
_RCNN_SCALARS = ('epoch', 'best_unseen_F1', 'best_gzsl_F1')


def rcnn_prompt(num_tokens: int, ctx_init: str = RCNN_CTX_INIT) -> str:
    """RCNn's initial prompt, e.g. ``"a photo of a X X X X."`` for 4."""
    return ctx_init + ' ' + ' '.join(['X'] * num_tokens) + '.'


def rcnn_prompt_buffers(token_embedding: torch.Tensor, token_ids: torch.Tensor,
                        num_tokens: int, ctx_init: str = RCNN_CTX_INIT
                        ) -> Dict[str, torch.Tensor]:
    """RCNn's ``token_prefix`` / ``token_suffix`` buffers.

    Args:
        token_embedding: The text tower's ``[vocab, width]`` token embedding.
        token_ids: ``[1, context_length]`` ids of :func:`rcnn_prompt`.
        num_tokens: Learned tokens per class (``n``).
        ctx_init: Context words (RCNn counts one token per word).

    Returns:
        dict: ``token_prefix [1, n_ctx + 1, width]`` (SOT + context) and
        ``token_suffix [1, L - n_ctx - 1 - n, width]`` ('.', EOT, padding).
    """
    n_ctx = len(ctx_init.split(' '))
    if token_ids.dim() != 2 or token_ids.shape[0] != 1:
        raise ValueError(f'token_ids must be [1, L], got {tuple(token_ids.shape)}')
    embedding = token_embedding[token_ids].detach().float().cpu()
    return dict(token_prefix=embedding[:, :n_ctx + 1].contiguous(),
                token_suffix=embedding[:, n_ctx + 1 + num_tokens:].contiguous())


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
        key (str, optional): Exact key; by default RCNn's ``clsn``,
            ``prompt_learner.ctx`` or ``ctx`` (with an optional ``module.``
            prefix).

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
    """Reference checkpoint -> our (mmengine) checkpoint dict.

    RCNn's ``epoch`` / ``best_unseen_F1`` / ``best_gzsl_F1`` go to ``meta``
    as stored (``reference_best_gzsl_F1_is_unseen`` marks RCNn's bug).
    """
    found, vectors = find_reference_vectors(ckpt, key)
    vectors = reorder(vectors.detach().float().cpu(), src_classes, dst_classes)
    meta = dict(converted_from='granzsl-reference', source_key=found,
                num_classes=vectors.shape[0], num_tokens=vectors.shape[1])
    if found.removeprefix('module.').endswith('clsn'):
        meta['converted_from'] = 'rcnn'
        for name in _RCNN_SCALARS:
            value = ckpt.get(name) if isinstance(ckpt, dict) else None
            if torch.is_tensor(value):
                value = value.item()
            if isinstance(value, (int, float)):
                meta['reference_' + name] = value
        meta['reference_best_gzsl_F1_is_unseen'] = True
    return dict(state_dict={OUR_KEY: vectors.contiguous()}, meta=meta)


def ours_to_reference(ckpt: dict, layout: str = 'dualcoop',
                      src_classes: Optional[Sequence[str]] = None,
                      dst_classes: Optional[Sequence[str]] = None,
                      prompt_buffers: Optional[Dict[str, torch.Tensor]] = None
                      ) -> dict:
    """Our checkpoint -> a reference layout (names only, no CLIP weights).

    ``'rcnn'``: RCNn's ``checkpoint.pth.tar`` layout (``state_dict`` =
    ``{'clsn', 'token_prefix', 'token_suffix'}``, accepted by its
    ``prompt_learner.load_state_dict``; ``optimizer`` a fresh SGD state and
    ``scheduler`` its warm-up state at epoch 0, as plain dicts; the F1
    entries 0); needs ``prompt_buffers`` from :func:`rcnn_prompt_buffers`.
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
    if layout == 'rcnn':
        return _rcnn_checkpoint(vectors, prompt_buffers)
    if layout == 'dualcoop':
        return dict(state_dict={'prompt_learner.ctx': vectors}, epoch=None)
    if layout == 'dassl':
        return dict(state_dict=dict(ctx=vectors), epoch=None)
    if layout == 'flat':
        return {'prompt_learner.ctx': vectors}
    raise ValueError(f'layout must be one of {LAYOUTS}, got {layout!r}')


def _rcnn_checkpoint(vectors: torch.Tensor,
                     buffers: Optional[Dict[str, torch.Tensor]]) -> dict:
    if not buffers or set(buffers) != {'token_prefix', 'token_suffix'}:
        raise ValueError("layout 'rcnn' needs prompt_buffers = "
                         "rcnn_prompt_buffers(...) (token_prefix, token_suffix)")
    prefix, suffix = buffers['token_prefix'], buffers['token_suffix']
    if prefix.shape[-1] != vectors.shape[-1] or suffix.shape[-1] != \
            vectors.shape[-1]:
        raise ValueError(f'text width {prefix.shape[-1]} of the buffers != '
                         f'class-name width {vectors.shape[-1]}')
    clsn = torch.nn.Parameter(vectors.clone())
    # RCNn: SGD(lr 1e-4, momentum 0.9, wd 5e-4), ConstantWarmupScheduler.
    optim = torch.optim.SGD([clsn], lr=1e-4, momentum=0.9, weight_decay=5e-4)
    scheduler = dict(warmup_epoch=1, cons_lr=1e-5, last_epoch=0,
                     base_lrs=[1e-4], _last_lr=[1e-5], _step_count=1)
    return dict(epoch=0,
                state_dict=dict(clsn=vectors, token_prefix=prefix,
                                token_suffix=suffix),
                best_unseen_F1=0.0, best_gzsl_F1=0.0,
                optimizer=optim.state_dict(), scheduler=scheduler)


def _read_names(path: Optional[str]) -> Optional[List[str]]:
    """Class names of a file (split files: seen then unseen), by the one
    reader, :func:`granzsl_mm.structures.read_class_names`."""
    if path is None:
        return None
    return read_class_names(path).names
