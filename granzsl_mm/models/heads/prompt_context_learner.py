"""MKT stage 2's prompt tuning: learnable context tokens around class names.

The prompt "There is a {name} in the scene" is tokenized per class; the
token embeddings of the class-name positions stay frozen (CLIP's), while the
embeddings of every other token up to and including end-of-text (start token,
"there", "is", "a", "in", "the", "scene", end token) are learned. As in the
reference, which trains rows of the token-embedding table and puts frozen
copies of the name embeddings back before encoding, a context vector is
shared by every occurrence of the same token id in any prompt; here it is a
separate parameter initialised from CLIP's row, so the frozen tower itself
never changes.
"""
from typing import Any, Optional, Sequence

import torch
import torch.nn as nn

from granzsl_mm.registry import MODELS
from granzsl_mm.structures.prompts import MKT_TEMPLATE

__all__ = ['PromptContextLearner']


@MODELS.register_module()
class PromptContextLearner(nn.Module):
    """Learned context token embeddings shared across classes.

    Args:
        text_encoder: A ``CLIPTextEncoder`` (tokenizer, token embedding).
        class_names (Sequence[str]): All class names (label order).
        template (str): Prompt with one ``{}``.
    """

    def __init__(self, text_encoder: Any, class_names: Sequence[str],
                 template: str = MKT_TEMPLATE) -> None:
        super().__init__()
        if template.count('{}') != 1:
            raise ValueError(f'template needs one "{{}}": {template!r}')
        names = list(class_names)
        tokens = text_encoder.tokenize([template.format(n) for n in names])
        prefix = text_encoder.tokenize([template.split('{}')[0].strip()])
        start = int((prefix[0] != 0).sum()) - 1  # SOT + prefix words
        name_tokens = text_encoder.tokenize(names)
        name_lens = (name_tokens != 0).sum(dim=1) - 2  # minus SOT / EOT
        eot = tokens.argmax(dim=-1)
        positions = torch.arange(tokens.shape[1], device=tokens.device)
        in_prompt = positions.unsqueeze(0) <= eot.unsqueeze(1)
        is_name = ((positions.unsqueeze(0) >= start)
                   & (positions.unsqueeze(0) < start + name_lens.unsqueeze(1)))
        for i, name in enumerate(names):
            got = tokens[i, start:start + name_lens[i]]
            want = name_tokens[i, 1:1 + name_lens[i]]
            if not torch.equal(got, want):
                raise ValueError(f'class name {name!r} does not tokenize the '
                                 f'same inside the template {template!r}')
        context = in_prompt & ~is_name
        ids = torch.unique(tokens[context])
        index = torch.full_like(tokens, -1)
        index[context] = torch.searchsorted(ids, tokens[context])
        with torch.no_grad():
            init = text_encoder.token_embedding(ids.unsqueeze(0))[0]
        self.context = nn.Parameter(init.detach().float().clone())
        self.register_buffer('tokens', tokens.cpu(), persistent=False)
        self.register_buffer('context_index', index.cpu(), persistent=False)
        self.register_buffer('context_ids', ids.cpu(), persistent=False)
        self.template = template

    @property
    def num_context_tokens(self) -> int:
        """Distinct learned context tokens."""
        return int(self.context.shape[0])

    def forward(self, text_encoder: Any,
                indices: Optional[Sequence[int]] = None) -> torch.Tensor:
        """Normalised label embeddings ``[C', D]`` of the chosen classes.

        Args:
            text_encoder: The ``CLIPTextEncoder`` given at construction.
            indices (Sequence[int], optional): Classes (default: all).

        Returns:
            torch.Tensor: ``[C', D]``.
        """
        tokens, index = self.tokens, self.context_index
        if indices is not None:
            sel = torch.as_tensor(list(indices), dtype=torch.long,
                                  device=tokens.device)
            tokens, index = tokens[sel], index[sel]
        with torch.no_grad():
            frozen = text_encoder.token_embedding(tokens)
        context = self.context.to(frozen.dtype)[index.clamp(min=0)]
        embeds = torch.where((index >= 0).unsqueeze(-1).to(frozen.device),
                             context.to(frozen.device), frozen)
        return text_encoder.encode_embeddings(embeds, tokens)
