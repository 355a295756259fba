"""Convert TaI-DPT's released prompt weights into our layout.

TaI-DPT (``guozix/TaI-DPT`` @ 1333eca) releases its learned prompts as Dassl
checkpoints, one per run, at
``<run>/prompt_learner/model-best.pth.tar`` (``model.pth.tar-<epoch>`` for
other epochs): ``Dassl.pytorch-master/dassl/engine/trainer.py:
SimpleTrainer.save_model`` writes, through ``dassl/utils/torchtools.py:
save_checkpoint`` (``module.`` taken off the keys), the dict

* ``state_dict``: the ``PromptLearner``'s state
  (``trainers/Caption_distill_double.py``): ``ctx`` (global context) and
  ``ctx_double`` (local context), ``[n_ctx, width]`` or, class-specific
  (``CSC``), ``[n_cls, n_ctx, width]``; the scalars ``temperature``,
  ``spatial_T``, ``ranking_scale`` (used only with ``IF_LEARN_SCALE`` /
  ``IF_LEARN_spatial_SCALE``, False in every released recipe); the frozen
  token embeddings ``token_prefix``, ``token_suffix``, ``token_suffix_nocls``
  of the class names;
* ``epoch``, ``optimizer`` (the optimizer's state dict), ``scheduler`` (the
  scheduler's state dict, which pickles its successor scheduler object, an
  optimizer object inside it).

``ctx`` becomes ``global_prompt.context`` and ``ctx_double``
``local_prompt.context`` of :class:`~granzsl_mm.models.classifiers.TaIDPT`;
the token embeddings are dropped (ours are computed from the class names of
the config, as the reference's ``load_model`` does for ``token_prefix`` /
``token_suffix``); the training state is dropped, its pickled optimizer and
scheduler objects read as inert placeholders (:data:`TRAINING_STATE_GLOBALS`,
see :func:`granzsl_mm.utils.safe_checkpoint.safe_torch_load`). Learned
scales (``temperature`` / ``spatial_T`` moved from their initial 3.0) are
refused unless asked for: the model's ``logit_scale`` and
``image_spatial_scale`` must then be set to their exponentials.

Command line::

    python tools/model_converters/taidpt_to_ours.py \\
        output/voc2007_caption/.../seed1/prompt_learner/model-best.pth.tar \\
        taidpt_voc.pth
    python tools/test.py configs/taidpt_voc.py taidpt_voc.pth
"""
import math
from typing import Dict

import torch

__all__ = ['TRAINING_STATE_GLOBALS', 'CONTEXT_KEYS', 'FROZEN_KEYS',
           'SCALE_KEYS', 'INITIAL_SCALES', 'dassl_state_dict',
           'convert_prompt_learner', 'convert']

#: Globals a Dassl checkpoint pickles in its ``optimizer`` / ``scheduler``
#: entries (the warm-up scheduler keeps its successor scheduler object, that
#: one its optimizer object with a ``defaultdict(dict)`` state): read as
#: inert placeholders, never constructed. Dassl's optimizers (sgd, adam,
#: adamw, rmsprop, radam) and schedulers (single_step, multi_step, cosine).
TRAINING_STATE_GLOBALS = (
    'collections.defaultdict', 'builtins.dict',
    'torch.optim.sgd.SGD', 'torch.optim.adam.Adam', 'torch.optim.adamw.AdamW',
    'torch.optim.rmsprop.RMSprop', 'dassl.optim.radam.RAdam',
    'dassl.optim.radam.PlainRAdam', 'dassl.optim.radam.AdamW',
    'torch.optim.lr_scheduler.StepLR', 'torch.optim.lr_scheduler.MultiStepLR',
    'torch.optim.lr_scheduler.CosineAnnealingLR',
    'dassl.optim.lr_scheduler.ConstantWarmupScheduler',
    'dassl.optim.lr_scheduler.LinearWarmupScheduler')
#: reference key -> our key
CONTEXT_KEYS = {'ctx': 'global_prompt.context',
                'ctx_double': 'local_prompt.context'}
FROZEN_KEYS = ('token_prefix', 'token_suffix', 'token_suffix_nocls')
SCALE_KEYS = ('temperature', 'spatial_T', 'ranking_scale')
#: the PromptLearner's initial values (trainers/Caption_distill_double.py)
INITIAL_SCALES = {'temperature': 3.0, 'spatial_T': 3.0, 'ranking_scale': 4.0}


def dassl_state_dict(ckpt: object, source: str = 'checkpoint'
                     ) -> Dict[str, torch.Tensor]:
    """The prompt learner's flat state of a loaded Dassl checkpoint.

    Args:
        ckpt (object): The loaded file.
        source (str): Its name, for the messages.

    Returns:
        dict: Key (``module.`` removed) -> tensor.

    Raises:
        ValueError: Not a Dassl checkpoint, or a non-tensor entry.
    """
    if not isinstance(ckpt, dict) or not isinstance(ckpt.get('state_dict'),
                                                    dict):
        raise ValueError(f'{source}: not a Dassl checkpoint (no state_dict '
                         'entry); give TaI-DPT\'s prompt_learner/'
                         'model-best.pth.tar')
    state = {}
    for key, value in ckpt['state_dict'].items():
        if not torch.is_tensor(value):
            raise ValueError(f'{source}: state_dict[{key!r}] is a '
                             f'{type(value).__name__}, not a tensor')
        state[str(key).removeprefix('module.')] = value
    return state


def convert_prompt_learner(state: Dict[str, torch.Tensor],
                           source: str = 'checkpoint',
                           learned_scales: bool = False
                           ) -> Dict[str, torch.Tensor]:
    """TaI-DPT ``PromptLearner`` state -> our TaIDPT keys.

    Args:
        state (dict): Flat reference state (:func:`dassl_state_dict`).
        source (str): The file's name, for the messages.
        learned_scales (bool): Accept moved ``temperature`` / ``spatial_T``
            (the caller sets the model's scales from them).

    Returns:
        dict: ``global_prompt.context`` and ``local_prompt.context``.

    Raises:
        KeyError: A context is missing, or an unknown key.
        ValueError: Bad shapes or values, or learned scales not accepted.
    """
    missing = [k for k in CONTEXT_KEYS if k not in state]
    if missing:
        raise KeyError(f'{source}: no {" / ".join(missing)} in its '
                       'state_dict: not a TaI-DPT prompt learner (Caption_'
                       'distill_double) checkpoint')
    unknown = sorted(set(state) - set(CONTEXT_KEYS) - set(FROZEN_KEYS) -
                     set(SCALE_KEYS))
    if unknown:
        raise KeyError(f'{source}: unexpected keys {unknown[:10]} in its '
                       'state_dict: not a TaI-DPT prompt learner checkpoint')
    ctx, ctx_double = state['ctx'], state['ctx_double']
    for key, value in (('ctx', ctx), ('ctx_double', ctx_double)):
        if not 2 <= value.dim() <= 3 or 0 in value.shape:
            raise ValueError(f'{source}: {key} has shape {tuple(value.shape)};'
                             ' expected [n_ctx, width] or (class-specific) '
                             '[n_cls, n_ctx, width]')
        if not value.is_floating_point() or not bool(
                torch.isfinite(value).all()):
            raise ValueError(f'{source}: {key} is not a finite float tensor')
    if ctx.shape != ctx_double.shape:
        raise ValueError(f'{source}: ctx {tuple(ctx.shape)} and ctx_double '
                         f'{tuple(ctx_double.shape)} differ in shape; '
                         'TaI-DPT builds both alike')
    for key in FROZEN_KEYS:
        if key in state and (state[key].dim() != 3 or
                             state[key].shape[-1] != ctx.shape[-1]):
            raise ValueError(f'{source}: {key} has shape '
                             f'{tuple(state[key].shape)}, not [n_cls, L, '
                             f'{ctx.shape[-1]}] (the contexts\' width)')
    moved = {}
    for key in SCALE_KEYS:
        if key in state:
            if state[key].numel() != 1:
                raise ValueError(f'{source}: {key} has shape '
                                 f'{tuple(state[key].shape)}, not a scalar')
            value = float(state[key])
            if not math.isclose(value, INITIAL_SCALES[key], abs_tol=1e-6):
                moved[key] = value
    moved.pop('ranking_scale', None)  # never read by the model
    if moved and not learned_scales:
        hint = ', '.join(f'{k}={v:.6g} (exp: {math.exp(v):.6g})'
                         for k, v in moved.items())
        raise ValueError(f'{source}: trained with learned scales ({hint}); '
                         'pass --learned-scales and set model.logit_scale '
                         '(exp temperature) / model.image_spatial_scale (exp '
                         'spatial_T) in the config')
    return {CONTEXT_KEYS[k]: state[k] for k in CONTEXT_KEYS}


def convert(ckpt: object, source: str = 'checkpoint',
            learned_scales: bool = False) -> dict:
    """A loaded TaI-DPT Dassl checkpoint -> our mmengine checkpoint dict.

    Args:
        ckpt (object): The loaded reference file.
        source (str): Its name, for the messages.
        learned_scales (bool): See :func:`convert_prompt_learner`.

    Returns:
        dict: ``state_dict`` (float32 contexts) and ``meta`` (source,
        ``epoch``, ``num_context_tokens``, ``class_specific`` and the
        reference's scalar scales).
    """
    state = dassl_state_dict(ckpt, source)
    ours = convert_prompt_learner(state, source, learned_scales)
    ctx = ours['global_prompt.context']
    epoch = ckpt.get('epoch')
    meta = dict(converted_from='taidpt-reference',
                epoch=int(epoch) if isinstance(epoch, int) else None,
                num_context_tokens=int(ctx.shape[-2]),
                class_specific=ctx.dim() == 3,
                **{k: float(state[k]) for k in SCALE_KEYS if k in state})
    return dict(state_dict={k: v.detach().float().cpu().contiguous()
                            for k, v in ours.items()}, meta=meta)
