"""CoOp's learned prompt context: vectors in front of each class name.

The prompt of class ``c`` is "X X ... X {name}." (``num_tokens`` placeholder
words); the token embeddings of the placeholders are replaced by learned
context vectors, shared by all classes (``[n, width]``) or one set per class
(``class_specific``: ``[C, n, width]``), initialised ``N(0, init_std)`` or
from the token embeddings of ``init_words``. The start token, the class name,
the period and the end token keep CLIP's frozen embeddings, and the frozen
text tower (``CLIPTextEncoder.encode_embeddings``) encodes the result. This
is DualCoOp's ``MLCPromptLearner`` for one of its two prompts
(``models/dualcoop.py`` in ``sunxm2357/DualCoOp``, itself CoOp's).
"""
from typing import Any, Optional, Sequence

import torch
import torch.nn as nn

from granzsl_mm.registry import MODELS

__all__ = ['ContextPromptLearner']


@MODELS.register_module()
class ContextPromptLearner(nn.Module):
    """Learned context tokens in front of the class names.

    Args:
        text_encoder: A ``CLIPTextEncoder`` (tokenizer, token embedding).
        class_names (Sequence[str]): All class names in label order
            (underscores read as spaces, as the reference).
        num_tokens (int): Context length ``n`` (ignored with
            ``init_words``: their token count).
        class_specific (bool): One context per class (CoOp's CSC) instead of
            one shared by all classes.
        init_std (float): Standard deviation of the random initialisation.
        init_words (str, optional): Initialise the context from these
            words' token embeddings (and put them in the prompt text).
        placeholder (str): Word standing for a context token in the prompt.
    """

    def __init__(self, text_encoder: Any, class_names: Sequence[str],
                 num_tokens: int = 16, class_specific: bool = False,
                 init_std: float = 0.02, init_words: Optional[str] = None,
                 placeholder: str = 'X') -> None:
        super().__init__()
        names = [n.replace('_', ' ') for n in class_names]
        if not names:
            raise ValueError('ContextPromptLearner needs class names')
        width = int(text_encoder.token_embedding(
            text_encoder.tokenize(['a'])).shape[-1])
        if init_words:
            prefix = init_words.replace('_', ' ').strip()
            num_tokens = int((text_encoder.tokenize([prefix])[0] != 0).sum()
                             ) - 2
            with torch.no_grad():
                init = text_encoder.token_embedding(text_encoder.tokenize(
                    [prefix]))[0, 1:1 + num_tokens].detach().float().cpu()
            if class_specific:
                init = init.unsqueeze(0).repeat(len(names), 1, 1)
        else:
            if num_tokens < 1:
                raise ValueError(f'num_tokens must be >= 1, got {num_tokens}')
            prefix = ' '.join([placeholder] * num_tokens)
            shape = ((len(names), num_tokens, width) if class_specific
                     else (num_tokens, width))
            init = torch.empty(shape)
            nn.init.normal_(init, std=init_std)
        tokens = text_encoder.tokenize([f'{prefix} {n}.' for n in names])
        if bool((tokens[:, -1] != 0).any()):  # the tokenizer cut a prompt
            raise ValueError(f'prompts of {num_tokens} context tokens and '
                             'these class names exceed the context length '
                             f'{tokens.shape[1]}')
        self.context = nn.Parameter(init)
        self.register_buffer('tokens', tokens.cpu(), persistent=False)
        self.num_tokens = num_tokens
        self.class_specific = class_specific

    def prompt_embeddings(self, text_encoder: Any,
                          indices: Optional[Sequence[int]] = None
                          ) -> tuple:
        """Token embeddings of the chosen classes' prompts.

        Args:
            text_encoder: The ``CLIPTextEncoder`` given at construction.
            indices (Sequence[int], optional): Classes (default: all).

        Returns:
            tuple[torch.Tensor, torch.Tensor]: ``[C', L, width]`` embeddings
            (context in positions ``1 .. n``) and their ``[C', L]`` tokens.
        """
        tokens, context = self.tokens, self.context
        if indices is not None:
            sel = torch.as_tensor(list(indices), dtype=torch.long,
                                  device=tokens.device)
            tokens = tokens[sel]
            if self.class_specific:
                context = context[sel.to(context.device)]
        with torch.no_grad():
            frozen = text_encoder.token_embedding(tokens)
        if not self.class_specific:
            context = context.unsqueeze(0).expand(tokens.shape[0], -1, -1)
        context = context.to(device=frozen.device, dtype=frozen.dtype)
        end = 1 + self.num_tokens
        embeds = torch.cat([frozen[:, :1], context, frozen[:, end:]], dim=1)
        return embeds, tokens

    def forward(self, text_encoder: Any,
                indices: Optional[Sequence[int]] = None) -> torch.Tensor:
        """L2-normalised prompt embeddings ``[C', D]`` of the chosen classes.

        Args:
            text_encoder: The ``CLIPTextEncoder`` given at construction.
            indices (Sequence[int], optional): Classes (default: all).

        Returns:
            torch.Tensor: ``[C', D]``.
        """
        embeds, tokens = self.prompt_embeddings(text_encoder, indices)
        return text_encoder.encode_embeddings(embeds, tokens)
