"""Weights a user brings: checkpoints of our models and CLIP weights files.

Two kinds of files reach a model, through two different options:

* a **checkpoint of our model** (``tools/train.py`` output, a converted
  GranZSL / MKT checkpoint): ``--checkpoint`` / ``pretrained=`` of
  :func:`granzsl_mm.apis.get_model`. :func:`check_checkpoint_fits` refuses a
  file that does not fit the model built from the config, and says what the
  file is instead (an open_clip / OpenAI CLIP file, a checkpoint of another
  model, ...) and which option takes it;
* a **CLIP weights file** (open_clip ``.bin`` / ``.safetensors`` / ``.pt``,
  an OpenAI TorchScript ``.pt``): ``--clip-checkpoint`` (``tools/infer.py``,
  ``tools/test.py``), ``--clip-weights`` (web app), i.e.
  ``model.backbone.pretrained=FILE``. :func:`set_clip_weights` sets it and
  checks the file against the config's architecture and activation first.
"""
import contextlib
import os.path as osp
from typing import Any, Dict, Iterator, List, Optional, Sequence, Union

from mmengine.config import Config
from torch import nn

from .clip_files import (
    CheckpointMismatchError,
    arch_diff,
    arch_text,
    clip_architecture,
    clip_prefix,
    config_clip_architecture,
    describe_file,
    describe_state,
    file_name,
    read_state_dict,
    tensors_of,
)

__all__ = ['CheckpointMismatchError', 'ClipWeightsError',
           'check_checkpoint_fits', 'set_clip_weights', 'read_state_dict',
           'clip_architecture', 'config_clip_architecture', 'describe_file',
           'weights_option', 'explain_build_error', 'OfflineWeightsError',
           'CLIP_OPTIONS']

# The option that takes a CLIP weights file, per tool (error messages).
CLIP_OPTIONS = {
    'infer': '--clip-checkpoint FILE',
    'test': '--clip-checkpoint FILE',
    'web_app': '--clip-weights FILE',
    'api': "set_clip_weights(cfg, FILE) or cfg_options "
           "model.backbone.pretrained=FILE",
}


class ClipWeightsError(ValueError):
    """A CLIP weights file does not fit the config's CLIP architecture."""


class OfflineWeightsError(RuntimeError):
    """Pretrained CLIP weights are not cached and the machine is offline."""


_current_option: List[str] = []  # set inside weights_option()


@contextlib.contextmanager
def weights_option(option: str) -> Iterator[None]:
    """Name the tool's option for local CLIP weights in offline errors.

    An open_clip tag that is not cached on an offline machine fails with
    "... not cached and this machine is offline ..."; inside the block that
    error is raised again (as :class:`OfflineWeightsError`) telling the user
    to pass ``option`` (e.g. ``'--clip-checkpoint FILE'``) with a local
    open_clip / OpenAI CLIP file; :func:`check_checkpoint_fits` names it too
    when an open_clip file was given as a checkpoint.

    Args:
        option (str): The option as the user types it.
    """
    _current_option[:] = [option]
    try:
        yield
    except RuntimeError as e:
        text = str(e)
        if 'not cached and this machine is offline' not in text:
            raise
        first = text.split('. Download')[0]
        raise OfflineWeightsError(
            f'{first}. Pass a local open_clip or OpenAI CLIP weights file '
            f'with {option}, or download the weights on a machine with '
            'internet (see docs/inference.md, "Bringing weights").') from e
    finally:
        _current_option.clear()


# -------------------------------------------------------------- the checks
def check_checkpoint_fits(model: nn.Module, checkpoint: Union[str, dict],
                          option: str = '--checkpoint',
                          clip_option: Optional[str] = None,
                          source: Optional[str] = None,
                          missing_ok: Sequence[str] = ()) -> Dict[str, Any]:
    """Refuse a checkpoint that does not fit ``model``.

    Checked: tensors of the checkpoint the model does not have, tensors the
    model saves (``model.state_dict()``: frozen weights a model leaves out,
    e.g. GranZSL's CLIP, may be absent) that the checkpoint lacks, shape
    differences, and NaN / inf in the parameters (learned names, heads). The
    error says what the file is and which option takes it.

    Args:
        model (nn.Module): The model built from the config.
        checkpoint (str | dict): Path or loaded checkpoint.
        option (str): The option the checkpoint came through (message).
        clip_option (str, optional): The option that takes CLIP weights
            (message); default: the one of the enclosing
            :func:`weights_option`, else the API's.
        source (str, optional): The file a loaded ``checkpoint`` dict was
            read from (message).
        missing_ok (Sequence[str]): Name prefixes of model tensors the
            checkpoint may lack because the model initialises them itself
            (e.g. MKT stage 2's prompt context, started from a stage-1
            checkpoint).

    Returns:
        dict: The checkpoint's tensors (see :func:`read_state_dict`), for
        loading without reading the file again.

    Raises:
        CheckpointMismatchError: The checkpoint does not fit, or a tensor
            the model learns is not finite.
        FileNotFoundError: No such file.
    """
    state = read_state_dict(checkpoint, allow_empty=True)
    tensors = tensors_of(state)
    own = dict(model.named_parameters())
    own.update(model.named_buffers())
    unexpected = [k for k in tensors if k not in own]
    missing = [k for k in model.state_dict() if k not in tensors
               and not k.startswith(tuple(missing_ok))]
    reshaped = [f'{k} (checkpoint {tuple(v.shape)}, model '
                f'{tuple(own[k].shape)})' for k, v in tensors.items()
                if k in own and v.shape != own[k].shape]
    name = osp.basename(source) if source else file_name(checkpoint)
    if not (unexpected or missing or reshaped):
        _refuse_non_finite(tensors, dict(model.named_parameters()), name,
                           option)
        return state
    what = describe_state(state)
    if clip_option is None:
        clip_option = (_current_option[0] if _current_option
                       else CLIP_OPTIONS['api'])
    if what.startswith(('an open_clip', 'an OpenAI')):
        arch = clip_architecture(state)
        mine = clip_architecture(dict(model.state_dict()))
        diff = arch_diff(arch, mine) if arch and mine else []
        fit = ('' if not diff else ' It also differs from the config\'s '
               f'CLIP: {", ".join(diff)}.')
        raise CheckpointMismatchError(
            f'{name} is {what}, not a checkpoint of this model, so {option} '
            f'cannot take it. Pass CLIP weights with {clip_option}.{fit}')
    problems = []
    for label, names in (('differ in shape', reshaped),
                         ('in the checkpoint are unknown to the model',
                          unexpected),
                         ('of the model are missing from the checkpoint',
                          missing)):
        if names:
            shown = ', '.join(names[:3]) + (', ...' if len(names) > 3 else '')
            problems.append(f'{len(names)} tensors {label}: {shown}')
    mine = type(getattr(model, 'source_model', model)).__name__
    raise CheckpointMismatchError(
        f'{name} is {what}; it does not fit the {mine} of the config: '
        + '; '.join(problems) + f'. Give {option} a checkpoint trained with '
        'this config, or choose the config the checkpoint was trained with.')


def _refuse_non_finite(tensors: Dict[str, Any], learned: Dict[str, Any],
                       name: str, option: str) -> None:
    """Refuse NaN / inf in the tensors the model learns (names, heads):
    they would score every image NaN (tags in any order, exit 0)."""
    bad = [k for k, v in tensors.items() if k in learned
           and v.is_floating_point() and not bool(v.isfinite().all())]
    if bad:
        shown = ', '.join(bad[:3]) + (', ...' if len(bad) > 3 else '')
        raise CheckpointMismatchError(
            f'{name} holds non-finite values (NaN or inf) in {len(bad)} '
            f'learned tensor(s): {shown}; the training that wrote it '
            f'diverged. Give {option} an earlier checkpoint of that run.')


def _clip_cfgs(model_cfg: dict) -> List[dict]:
    """The config dicts that build a CLIP (backbone, own text encoder)."""
    while isinstance(model_cfg.get('module'), dict):  # a TTA wrapper's model
        model_cfg = model_cfg['module']
    found = []
    for key in ('backbone', 'text_encoder', 'teacher'):
        sub = model_cfg.get(key)  # OpenCLIPBackbone, CLIPTextEncoder,
        kind = str(sub.get('type', '')) if isinstance(sub, dict) else ''
        if 'CLIP' in kind or 'SigLIP' in kind:  # SigLIPBackbone
            found.append(sub)
    return found


def set_clip_weights(cfg: Config, path: str,
                     option: str = CLIP_OPTIONS['api']) -> None:
    """Load the config's CLIP from a local weights file.

    Sets ``pretrained=path`` on the config's CLIP modules (the backbone and
    a text encoder with its own CLIP) after checking that the file holds the
    architecture the config asks for and that the activation resolves
    (:func:`~granzsl_mm.models.backbones.open_clip_builder.resolve_quick_gelu`:
    an OpenAI TorchScript file is QuickGELU; a plain open_clip / OpenAI
    state dict does not record its activation, so the config's architecture
    says it: ``ViT-B-16-quickgelu`` for OpenAI weights converted to a state
    dict).

    Args:
        cfg (Config): The config (changed in place).
        path (str): Local weights file, or ``'random'``: an explicitly
            random tower (no file; every output then says "random CLIP
            tower", see :mod:`~granzsl_mm.models.backbones.tower_weights`).
        option (str): The option the file came through (messages).

    Raises:
        FileNotFoundError: No such file.
        ClipWeightsError: The file holds no CLIP, or another architecture.
        ActivationMismatchError: The config's activation contradicts the
            file's.
    """
    from granzsl_mm.models.backbones.open_clip_builder import resolve_quick_gelu
    from granzsl_mm.models.backbones.tower_weights import RANDOM_TOWER
    if path != RANDOM_TOWER and not osp.isfile(path):
        raise FileNotFoundError(f'{option}: file not found: {path}')
    model_cfg = cfg.get('model') or {}
    targets = _clip_cfgs(model_cfg)
    if not targets:
        raise ClipWeightsError(f'{option}: the config builds no open_clip '
                               'model (no model.backbone.arch).')
    if path == RANDOM_TOWER:
        for sub in targets:
            sub['pretrained'] = RANDOM_TOWER
        return
    state = read_state_dict(path)
    have = clip_architecture(state)
    if have is None or clip_prefix(list(tensors_of(state))) != '':
        raise ClipWeightsError(
            f'{option}: {osp.basename(path)} is {describe_state(state)}, not an '
            'open_clip / OpenAI CLIP weights file. A checkpoint of our '
            'models goes to --checkpoint.')
    for sub in targets:
        arch = sub.get('arch', 'ViT-B-16')
        want = config_clip_architecture(arch, sub.get('model_cfg'))
        diff = arch_diff(have, want) if want else []
        if diff:
            raise ClipWeightsError(
                f'{option}: {osp.basename(path)} holds a CLIP with '
                f'{arch_text(have)}, but the config asks for {arch!r} '
                f'({arch_text(want)}); differing: {", ".join(diff)}. Choose '
                'the weights of that architecture or set model.backbone.arch '
                'to the architecture of the file.')
        resolve_quick_gelu(arch, path, sub.get('model_cfg'),
                           sub.get('quick_gelu'))
        sub['pretrained'] = path


def explain_build_error(cfg: Config, error: BaseException
                        ) -> Optional[str]:
    """A readable message for open_clip's weight-loading failures.

    open_clip fails on a CLIP file of another architecture with e.g.
    ``AssertionError: text pos_embed width changed!`` or a size mismatch;
    this names the file's architecture and the config's.

    Args:
        cfg (Config): The config whose model failed to build.
        error (BaseException): The error raised while building.

    Returns:
        str | None: The message, or None when the error is of another kind
        (or the pretrained weights are no local file).
    """
    if not isinstance(error, (AssertionError, RuntimeError)):
        return None
    for sub in _clip_cfgs(cfg.get('model') or {}):
        path = sub.get('pretrained')
        if not isinstance(path, str) or not osp.isfile(path):
            continue
        try:
            set_clip_weights(Config(dict(model=dict(backbone=dict(sub)))),
                             path, option=f'pretrained={path}')
        except (ClipWeightsError, ValueError) as e:
            return str(e)
        except Exception:  # unreadable: keep the original error
            return None
    return None
