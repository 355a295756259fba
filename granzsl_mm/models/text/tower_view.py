"""Uniform access to the text modules of open_clip ``CLIP`` / ``CustomTextCLIP``."""
from typing import Any

from torch import nn

__all__ = ['TowerView']


class TowerView:
    """Uniform access to the text modules of ``CLIP`` / ``CustomTextCLIP``."""

    def __init__(self, clip: nn.Module) -> None:
        text = getattr(clip, 'text', None)
        src = clip if text is None else text
        self.src = src
        self.own_forward = text is None or (
            getattr(text, 'cls_emb', 1) is None
            and not getattr(text, 'use_pad_mask', True)
            and hasattr(text, 'token_embedding'))
        self.pool_type = (clip.text_pool_type if text is None else getattr(
            text, 'pool_type', None))
        self.eos_id = getattr(clip if text is None else text,
                              'text_eos_id' if text is None else 'eos_id',
                              None)

    def __getattr__(self, name: str) -> Any:
        # Only reached for missing attributes; ``src`` itself missing means
        # a half-built object (copy/pickle create one without __init__).
        if name == 'src':
            raise AttributeError(name)
        return getattr(self.src, name)
