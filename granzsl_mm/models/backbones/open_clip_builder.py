"""Build an open_clip model + tokenizer from a name, a config dict or a file.

Importing this module never touches the network. A pretrained *tag* (e.g.
``'openai'``) that is not in the local cache is only downloaded when the
machine is online; offline it fails fast with a message naming the tag and
how to pass a local checkpoint instead.

The activation (QuickGELU or GELU) is resolved here for every path, because
open_clip 3.x builds ``nn.GELU`` for e.g. ``ViT-B-16`` + ``'openai'`` and only
warns that OpenAI trained with QuickGELU (see :func:`resolve_quick_gelu`).
"""
import hashlib
import json
import os
import os.path as osp
import socket
import tempfile
import threading
import warnings
from typing import Any, Optional, Tuple

import open_clip
import torch
from torch import nn

from granzsl_mm.utils.atomic_io import atomic_write_text
from granzsl_mm.utils.torchscript_archive import (
    is_torchscript_archive,
    read_torchscript_state_dict,
)

from .tower_weights import (
    mark_tower_weights,
    missing_weights_file,
    resolve_tower_weights,
)

__all__ = ['build_open_clip', 'register_model_cfg', 'register_own_configs',
           'own_architectures', 'resolve_quick_gelu',
           'ActivationMismatchError', 'PRECISIONS']

PRECISIONS = {'fp32': torch.float32, 'bf16': torch.bfloat16,
              'fp16': torch.float16}
_OWN_CONFIG_DIR = osp.join(osp.dirname(__file__), 'model_configs')
_registered_dirs = set()


def register_own_configs() -> None:
    """Make our architecture files (``model_configs/*.json``: TinyCLIP-test,
    TinyCLIP-world) open_clip names (idempotent; no download)."""
    if _OWN_CONFIG_DIR not in _registered_dirs:
        open_clip.add_model_config(_OWN_CONFIG_DIR)
        _registered_dirs.add(_OWN_CONFIG_DIR)


def own_architectures() -> list:
    """Names of our architecture files (``model_configs/*.json``)."""
    return sorted(osp.splitext(name)[0] for name in os.listdir(_OWN_CONFIG_DIR)
                  if name.endswith('.json'))


def register_model_cfg(model_cfg: dict, name: Optional[str] = None) -> str:
    """Register a config dict with open_clip under a unique name.

    Args:
        model_cfg: An open_clip model config (``embed_dim``, ``vision_cfg``,
            ``text_cfg``, ...).
        name: Preferred name; a content hash is appended so two different
            configs never collide.

    Returns:
        str: The open_clip architecture name to pass to ``create_model``.
    """
    if not isinstance(model_cfg, dict) or 'vision_cfg' not in model_cfg \
            or 'text_cfg' not in model_cfg:
        raise ValueError('model_cfg must be an open_clip config dict with '
                         f'vision_cfg and text_cfg, got {model_cfg!r}')
    text = json.dumps(model_cfg, sort_keys=True)
    digest = hashlib.sha1(text.encode()).hexdigest()[:10]
    arch = f'{name or "custom"}-granzsl-{digest}'
    if arch in open_clip.list_models():
        return arch
    # atomic: ranks registering the same config read no half-written file
    path = osp.join(tempfile.gettempdir(), 'granzsl_mm_open_clip_cfgs',
                    arch + '.json')
    atomic_write_text(text, path)
    open_clip.add_model_config(path)
    return arch


def _online(host: str = 'huggingface.co', timeout: float = 2.0) -> bool:
    """Whether ``host`` answers on 443 within ``timeout`` seconds.

    The probe (DNS included, which a socket timeout does not bound) runs in a
    daemon thread, so a hanging resolver cannot stall the caller.
    """
    if os.environ.get('HF_HUB_OFFLINE', '0').lower() not in ('0', '',
                                                             'false'):
        return False
    answer = []

    def probe() -> None:
        try:
            socket.create_connection((host, 443), timeout=timeout).close()
            answer.append(True)
        except OSError:
            pass

    thread = threading.Thread(target=probe, daemon=True)
    thread.start()
    thread.join(timeout)
    return bool(answer)


def _tag_is_cached(cfg: dict) -> bool:
    if cfg.get('file'):
        return osp.isfile(cfg['file'])
    hub = cfg.get('hf_hub', '')
    if hub:
        try:
            from huggingface_hub import try_to_load_from_cache
        except ImportError:
            return False
        repo, filename = os.path.split(hub)
        names = [filename] if filename else [
            'open_clip_model.safetensors', 'open_clip_pytorch_model.bin']
        for fname in names + ['open_clip_model.safetensors']:
            hit = try_to_load_from_cache(repo, fname)
            if isinstance(hit, str) and osp.isfile(hit):
                return True
    url = cfg.get('url', '')
    if url:
        local = osp.join(osp.expanduser('~/.cache/clip'), osp.basename(url))
        return osp.isfile(local)
    return False


class ActivationMismatchError(ValueError):
    """The requested activation contradicts how the weights were trained."""


def _arch_quick_gelu(arch: str, model_cfg: Optional[dict]) -> bool:
    """The activation the architecture config itself asks for."""
    if model_cfg is not None:
        return bool(model_cfg.get('quick_gelu', False))
    cfg = open_clip.get_model_config(arch) or {}
    return bool(cfg.get('quick_gelu', False))


def _tag_of_file(arch: str, path: str) -> Optional[str]:
    """The open_clip tag a local file was downloaded for, when recognisable:
    a file in the Hugging Face cache of a tag's ``hf_hub`` repository, or a
    file named as a tag's download URL (OpenAI's ``ViT-B-16.pt``)."""
    real = osp.realpath(path).replace(os.sep, '/')
    name = osp.basename(path)
    for tag in open_clip.list_pretrained_tags_by_model(arch):
        cfg = open_clip.get_pretrained_cfg(arch, tag)
        hub = cfg.get('hf_hub', '').strip('/')
        if hub:
            repo = 'models--' + '--'.join(hub.split('/')[:2])
            if f'/{repo}/' in real:
                return tag
        url = cfg.get('url', '')
        if url and osp.basename(url) == name and url.startswith(
                'https://openaipublic'):
            return tag
    return None


def _hf_hub_quick_gelu(arch: str) -> Optional[bool]:
    """``quick_gelu`` of a cached ``hf-hub:`` repository's open_clip config
    (None when the config is not cached)."""
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:
        return None
    hit = try_to_load_from_cache(arch[len('hf-hub:'):].strip('/'),
                                 'open_clip_config.json')
    if not isinstance(hit, str) or not osp.isfile(hit):
        return None
    with open(hit, encoding='utf-8') as f:
        cfg = json.load(f)
    return bool(cfg.get('model_cfg', cfg).get('quick_gelu', False))


def resolve_quick_gelu(arch: str,
                       pretrained: Optional[str] = None,
                       model_cfg: Optional[dict] = None,
                       quick_gelu: Optional[bool] = None) -> bool:
    """Decide the activation the model must be built with.

    * a pretrained **tag**: the tag's pretrained config
      (``open_clip.get_pretrained_cfg(arch, tag)['quick_gelu']``; ``True``
      for ``'openai'``);
    * a local **file**: an OpenAI TorchScript archive, or a file recognisable
      as a tag's download (Hugging Face cache path, OpenAI file name), is
      QuickGELU / the tag's setting; any other file follows the config
      (``quick_gelu``, else the architecture, e.g. ``ViT-B-16-quickgelu``);
    * ``hf-hub:`` names: the cached repository config, else the config;
    * no weights: the config.

    Args:
        arch: open_clip architecture name (or ``hf-hub:`` / ``local-dir:``).
        pretrained: Tag, file or None.
        model_cfg: Custom open_clip config dict (its ``quick_gelu`` key).
        quick_gelu: What the user's config asks for; None = no preference.

    Returns:
        bool: True for QuickGELU.

    Raises:
        ActivationMismatchError: ``quick_gelu`` contradicts what the weights
            are known to have been trained with.
    """
    known, source = None, None
    if arch.startswith('hf-hub:'):
        known, source = _hf_hub_quick_gelu(arch), f'the cached {arch} config'
    elif pretrained and osp.isfile(pretrained):
        if is_torchscript_archive(pretrained):
            known, source = True, f'{pretrained} (an OpenAI TorchScript file)'
        elif model_cfg is None and arch in open_clip.list_models():
            tag = _tag_of_file(arch, pretrained)
            if tag is not None:
                known = bool(open_clip.get_pretrained_cfg(arch, tag).get(
                    'quick_gelu', False))
                source = f'{pretrained} (the {arch!r}/{tag!r} download)'
    elif pretrained and model_cfg is None:
        cfg = open_clip.get_pretrained_cfg(arch, pretrained)
        if cfg:
            known = bool(cfg.get('quick_gelu', False))
            source = f"open_clip's pretrained config of {arch!r}/{pretrained!r}"
    if known is None:
        if quick_gelu is not None:
            return bool(quick_gelu)
        if arch.startswith(('hf-hub:', 'local-dir:')):
            return False  # open_clip reads the repository's own config
        return _arch_quick_gelu(arch, model_cfg)
    if quick_gelu is not None and bool(quick_gelu) != known:
        raise ActivationMismatchError(
            f'quick_gelu={quick_gelu} contradicts {source}, which says the '
            f'weights were trained with {"QuickGELU" if known else "GELU"}; '
            'drop the quick_gelu setting or use matching weights.')
    return known


def load_torchscript_weights(model: nn.Module, path: str) -> None:
    """Load an OpenAI TorchScript archive's weights into an open_clip model.

    The archive is read as data (:mod:`granzsl_mm.utils.torchscript_archive`);
    its extra entries (``input_resolution``, ``context_length``,
    ``vocab_size`` and the model's non-persistent buffers) are dropped, as
    open_clip does for these files.

    Args:
        model: The open_clip model built for the archive's architecture.
        path: The archive.

    Raises:
        ValueError: The archive's tensors do not fit the model (missing or
            foreign names, other shapes).
    """
    state = read_torchscript_state_dict(path)
    wanted = model.state_dict()
    ignorable = {'input_resolution', 'context_length', 'vocab_size'} | {
        name for name, _ in model.named_buffers()}
    foreign = sorted(set(state) - set(wanted) - ignorable)
    missing = sorted(set(wanted) - set(state))
    shapes = sorted(k for k in set(wanted) & set(state)
                    if wanted[k].shape != state[k].shape)
    if foreign or missing or shapes:
        raise ValueError(
            f'{osp.basename(path)} does not fit this open_clip model: '
            f'{len(missing)} missing (e.g. {missing[:3]}), {len(foreign)} '
            f'foreign (e.g. {foreign[:3]}), {len(shapes)} of another shape '
            f'(e.g. {shapes[:3]}); pick the architecture the file was saved '
            'with.')
    model.load_state_dict({k: state[k] for k in wanted}, strict=True)


def _check_pretrained(arch: str, pretrained: str) -> None:
    if osp.isfile(pretrained):
        return
    cfg = open_clip.get_pretrained_cfg(arch, pretrained)
    if not cfg and (osp.splitext(pretrained)[1] or '/' in pretrained
                    or os.sep in pretrained):
        raise missing_weights_file(pretrained)  # a path, not a tag
    if not cfg:
        tags = open_clip.list_pretrained_tags_by_model(arch)
        raise ValueError(
            f'pretrained={pretrained!r} is neither a file nor an open_clip '
            f'tag of {arch!r} (known tags: {tags}). Pass a local checkpoint '
            'path to load weights from a file.')
    if not _tag_is_cached(cfg) and not _online():
        raise RuntimeError(
            f'open_clip weights {arch!r}/{pretrained!r} are not cached and '
            'this machine is offline. Download them on a machine with '
            'internet, or pass pretrained=/path/to/checkpoint.pt (a local '
            'open_clip or OpenAI CLIP checkpoint).')


def build_open_clip(arch: str,
                    pretrained: Optional[str] = None,
                    model_cfg: Optional[dict] = None,
                    precision: str = 'fp32',
                    quick_gelu: Optional[bool] = None
                    ) -> Tuple[nn.Module, Any]:
    """Create an open_clip model and its tokenizer.

    Args:
        arch: An open_clip architecture name (``'ViT-B-16'``, or one of our
            ``model_configs/*.json`` such as ``'TinyCLIP-test'``). With
            ``model_cfg`` it is only used as a readable name prefix.
        pretrained: An open_clip tag (``'openai'``), a local checkpoint
            path, or ``'random'`` for open_clip's random initialisation
            (None / empty is refused: see
            :mod:`~granzsl_mm.models.backbones.tower_weights`).
        model_cfg: An open_clip config dict for custom / tiny architectures.
        precision: ``'fp32'``, ``'bf16'`` or ``'fp16'``.
        quick_gelu: Activation wanted (None: as the weights were trained,
            see :func:`resolve_quick_gelu`; a contradiction is refused).

    Returns:
        tuple: ``(model, tokenizer)``; the model is in eval mode and records
        where its weights came from (:func:`mark_tower_weights`).

    Raises:
        MissingClipWeightsError: No weights and no explicit ``'random'``.
    """
    if precision not in PRECISIONS:
        raise ValueError(f'precision must be one of {list(PRECISIONS)}, '
                         f'got {precision!r}')
    register_own_configs()
    name = arch
    if model_cfg is not None:
        arch = register_model_cfg(dict(model_cfg), name=arch)
    elif arch not in open_clip.list_models() and not arch.startswith(
            ('hf-hub:', 'local-dir:')):
        raise ValueError(f'Unknown open_clip architecture {arch!r}; pass '
                         'model_cfg=dict(...) for a custom one.')
    hub = arch.startswith(('hf-hub:', 'local-dir:'))
    source = pretrained
    pretrained = resolve_tower_weights(name, pretrained)
    use_quick = resolve_quick_gelu(arch, pretrained, model_cfg, quick_gelu)
    if pretrained:
        _check_pretrained(arch, pretrained)
    kwargs = {}
    if not hub:  # hub / local-dir configs carry their own activation
        kwargs = (dict(force_quick_gelu=True) if use_quick else
                  dict(quick_gelu=False))
    # OpenAI's TorchScript files are read as data (open_clip would hand them
    # to torch.jit.load, which runs the archive's code)
    archive = bool(pretrained) and osp.isfile(pretrained) and \
        is_torchscript_archive(pretrained)
    with warnings.catch_warnings():
        # open_clip's "QuickGELU mismatch" warning: resolved above.
        warnings.filterwarnings('ignore', message='QuickGELU mismatch')
        model = open_clip.create_model(
            arch, pretrained=None if archive else (pretrained or None),
            precision='fp32', **kwargs)
    if archive:
        load_torchscript_weights(model, pretrained)
    model = model.to(PRECISIONS[precision]).eval()
    mark_tower_weights(model, source or arch)
    tokenizer = open_clip.get_tokenizer(arch)
    return model, tokenizer
