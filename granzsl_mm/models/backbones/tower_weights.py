"""Where a CLIP tower's weights come from, and the one line that says it.

A CLIP tower is built from a file, an open_clip tag, or — only when asked
for with the explicit value ``pretrained='random'`` (``--clip-checkpoint
random`` in the tools) — from open_clip's random initialisation. A tower
given no weights at all (``pretrained=None`` / ``''``) is refused: its
scores would be those of an untrained CLIP with nothing to say so.

:func:`build_open_clip` records the source on the model it builds
(:func:`mark_tower_weights`; a checkpoint that carries whole towers takes
over, :func:`mark_checkpoint_towers`); every output that a random tower
could make meaningless (the train / test logs, ``tools/infer.py``, the
inferencer) says so with :func:`tower_weights_line` (before the model is
built: :func:`config_tower_line`).
"""
import os.path as osp
from typing import Any, Iterable, List, Optional

from torch import nn

__all__ = ['RANDOM_TOWER', 'RANDOM_TOWER_NOTE', 'DEMO_CLIP_FILE',
           'MissingClipWeightsError', 'resolve_tower_weights',
           'missing_weights_file', 'mark_tower_weights',
           'mark_checkpoint_towers', 'tower_sources', 'has_random_tower',
           'tower_weights_line', 'config_tower_line']

# The explicit opt-in to a randomly initialised tower (configs, tests,
# ``--clip-checkpoint random``).
RANDOM_TOWER = 'random'
# The words every output carries when a tower is random.
RANDOM_TOWER_NOTE = 'random CLIP tower'
# The tiny CLIP `make demo` pre-trains into its data root (the demo
# configs' ``pretrained='data/demo/tiny_clip.pt'``).
DEMO_CLIP_FILE = 'tiny_clip.pt'
_ATTR = 'granzsl_weights_source'
_REPOSITORY_SCHEMAS = ('hf-hub:', 'local-dir:')


class MissingClipWeightsError(ValueError):
    """A CLIP tower was given no weights (or a file that does not exist)
    and no explicit ``'random'``."""


def resolve_tower_weights(arch: str, pretrained: Optional[str]
                          ) -> Optional[str]:
    """What open_clip must load for ``pretrained``.

    Args:
        arch: The tower's architecture (``hf-hub:`` / ``local-dir:`` names
            bring their repository's weights, and take no ``pretrained``).
        pretrained: A file, an open_clip tag, or ``'random'``.

    Returns:
        str | None: ``pretrained`` itself, or None for ``'random'``.

    Raises:
        MissingClipWeightsError: ``pretrained`` is None or empty.
    """
    if arch.startswith(_REPOSITORY_SCHEMAS):
        if pretrained == RANDOM_TOWER:
            raise ValueError(f"{arch!r} loads its repository's weights; "
                             "pretrained='random' cannot apply to it.")
        return pretrained
    if pretrained == RANDOM_TOWER:
        return None
    if not pretrained:
        raise MissingClipWeightsError(
            f'the CLIP tower {arch!r} has no weights: give them with '
            '--clip-checkpoint PATH (or --cfg-options '
            'model.backbone.pretrained=/path), or opt in to a random tower '
            "with --clip-checkpoint random (pretrained='random').")
    return pretrained


def missing_weights_file(path: str) -> MissingClipWeightsError:
    """The error for a CLIP weights file that does not exist.

    Args:
        path: The file asked for.

    Returns:
        MissingClipWeightsError: One line naming the file and the fix (the
        demo's tiny CLIP: ``make demo``).
    """
    if osp.basename(path) == DEMO_CLIP_FILE:
        fix = ("it is the demo's tiny CLIP: run `make demo` first (or "
               '--clip-checkpoint random for a random tower)')
    else:
        fix = ('give an existing file with --clip-checkpoint PATH or '
               'model.backbone.pretrained=/path')
    return MissingClipWeightsError(
        f'CLIP weights file not found: {path}; {fix}.')


def mark_tower_weights(model: nn.Module, pretrained: str) -> None:
    """Record on a built open_clip model where its weights came from.

    Args:
        model: The open_clip model.
        pretrained: The file or tag it was loaded from, or ``'random'``.
    """
    object.__setattr__(model, _ATTR, str(pretrained))


def mark_checkpoint_towers(model: nn.Module, names: Iterable[str],
                           source: str) -> None:
    """Record that a checkpoint replaced whole CLIP towers of ``model``.

    A tower every tensor of which the checkpoint holds (a model that saves
    its frozen CLIP) runs on the checkpoint's weights, whatever it was built
    with.

    Args:
        model: The model the checkpoint is loaded into.
        names: The checkpoint's tensor names (``model.state_dict()`` keys).
        source: The checkpoint file (or a phrase naming it).
    """
    names = set(names)
    for prefix, module in model.named_modules():
        if getattr(module, _ATTR, None) is None:
            continue
        keys = [f'{prefix}.{k}' if prefix else k for k in module.state_dict()]
        if keys and all(k in names for k in keys):
            mark_tower_weights(module, source)


def tower_sources(model: nn.Module) -> List[str]:
    """The weights sources of the CLIP towers inside ``model`` (each tower
    once, in module order)."""
    found, seen = [], set()
    for module in model.modules():
        source = getattr(module, _ATTR, None)
        if source is not None and id(module) not in seen:
            seen.add(id(module))
            found.append(source)
    # a tower shared by a text encoder is no module of it: look there too
    for module in model.modules():
        clip = module.__dict__.get('clip')
        source = getattr(clip, _ATTR, None)
        if source is not None and id(clip) not in seen:
            seen.add(id(clip))
            found.append(source)
    return found


def has_random_tower(model: nn.Module) -> bool:
    """Whether a CLIP tower of ``model`` is randomly initialised."""
    return RANDOM_TOWER in tower_sources(model)


def tower_weights_line(model: nn.Module) -> Optional[str]:
    """One line saying which CLIP weights ``model`` runs on.

    Args:
        model: A model (or a CLIP tower).

    Returns:
        str | None: ``'random CLIP tower (pretrained=random): ...'`` when a
        tower is random, else ``'CLIP weights: <file or tag>'``; None when
        the model holds no CLIP tower.
    """
    return _line(tower_sources(model))


def config_tower_line(model_cfg: Any) -> Optional[str]:
    """:func:`tower_weights_line` read from a model config, before the
    model is built (the first lines of a run's log).

    Args:
        model_cfg: The config's ``model`` dict.

    Returns:
        str | None: The line, None when the config builds no CLIP tower.
    """
    sources = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            # an open_clip tower (OpenCLIPBackbone, CLIPTextEncoder,
            # SigLIPBackbone, ...): an architecture and its weights
            tower = 'CLIP' in str(node.get('type', '')) or 'arch' in node
            if tower and node.get('pretrained'):  # None: refused at build
                sources.append(str(node['pretrained']))
            for value in node.values():
                walk(value)
        elif isinstance(node, (list, tuple)):
            for value in node:
                walk(value)

    walk(model_cfg)
    return _line(sources)


def _line(sources: List[str]) -> Optional[str]:
    if not sources:
        return None
    if RANDOM_TOWER in sources:
        return (f'{RANDOM_TOWER_NOTE} (pretrained={RANDOM_TOWER}): scores '
                'come from an untrained CLIP, not from CLIP weights')
    return 'CLIP weights: ' + ', '.join(dict.fromkeys(sources))
