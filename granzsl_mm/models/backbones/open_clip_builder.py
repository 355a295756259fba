"""Build an open_clip model + tokenizer from a name, a config dict or a file.

Importing this module never touches the network. A pretrained *tag* (e.g.
``'openai'``) that is not in the local cache is only downloaded when the
machine is online; offline it fails fast with a message naming the tag and
how to pass a local checkpoint instead.
"""
import hashlib
import json
import os
import os.path as osp
import socket
import tempfile
import threading
from typing import Any, Optional, Tuple

import open_clip
import torch
from torch import nn

__all__ = ['build_open_clip', 'register_model_cfg', 'PRECISIONS']

PRECISIONS = {'fp32': torch.float32, 'bf16': torch.bfloat16,
              'fp16': torch.float16}
_OWN_CONFIG_DIR = osp.join(osp.dirname(__file__), 'model_configs')
_registered_dirs = set()


def _register_own_configs() -> None:
    # Our architecture files (e.g. TinyCLIP-test) become open_clip names.
    if _OWN_CONFIG_DIR not in _registered_dirs:
        open_clip.add_model_config(_OWN_CONFIG_DIR)
        _registered_dirs.add(_OWN_CONFIG_DIR)


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
    folder = osp.join(tempfile.gettempdir(), 'granzsl_mm_open_clip_cfgs')
    os.makedirs(folder, exist_ok=True)
    path = osp.join(folder, arch + '.json')
    with open(path, 'w', encoding='utf-8') as f:
        f.write(text)
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


def _check_pretrained(arch: str, pretrained: str) -> None:
    if osp.isfile(pretrained):
        return
    cfg = open_clip.get_pretrained_cfg(arch, pretrained)
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
                    precision: str = 'fp32') -> Tuple[nn.Module, Any]:
    """Create an open_clip model and its tokenizer.

    Args:
        arch: An open_clip architecture name (``'ViT-B-16'``, or one of our
            ``model_configs/*.json`` such as ``'TinyCLIP-test'``). With
            ``model_cfg`` it is only used as a readable name prefix.
        pretrained: An open_clip tag (``'openai'``), a local checkpoint
            path, or None for random weights.
        model_cfg: An open_clip config dict for custom / tiny architectures.
        precision: ``'fp32'``, ``'bf16'`` or ``'fp16'``.

    Returns:
        tuple: ``(model, tokenizer)``; the model is in eval mode.
    """
    if precision not in PRECISIONS:
        raise ValueError(f'precision must be one of {list(PRECISIONS)}, '
                         f'got {precision!r}')
    _register_own_configs()
    if model_cfg is not None:
        arch = register_model_cfg(dict(model_cfg), name=arch)
    elif arch not in open_clip.list_models() and not arch.startswith(
            ('hf-hub:', 'local-dir:')):
        raise ValueError(f'Unknown open_clip architecture {arch!r}; pass '
                         'model_cfg=dict(...) for a custom one.')
    if pretrained:
        _check_pretrained(arch, pretrained)
    model = open_clip.create_model(arch, pretrained=pretrained or None,
                                   precision='fp32')
    model = model.to(PRECISIONS[precision]).eval()
    tokenizer = open_clip.get_tokenizer(arch)
    return model, tokenizer
