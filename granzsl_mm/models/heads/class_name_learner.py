"""GranZSL's class-name learner: learnable word vectors inside a prompt.

Each class ``c`` owns ``n`` trainable token vectors (``[C, n, width]``,
initialised ``N(0, init_std)``) that replace the ``n`` placeholder tokens of
the prompt "a photo of a X X X X."; the frozen CLIP text tower encodes the
resulting token embeddings (truncated to the prompt's end-of-text position,
see ``CLIPTextEncoder.encode_embeddings``) into the class-name embedding.
"""
from typing import Any, Optional, Tuple

import torch
import torch.nn as nn

from granzsl_mm.registry import MODELS
from granzsl_mm.structures.prompts import CLIP_TEMPLATE

__all__ = ['ClassNameLearner']


@MODELS.register_module()
class ClassNameLearner(nn.Module):
    """Learnable class-name vectors placed into a text prompt.

    Args:
        num_classes (int): Number of classes ``C`` (all of them, seen then
            unseen: every class has descriptions).
        num_tokens (int): Word vectors per class ``n`` (4 on COCO and 3 on
            NUS-WIDE in the paper).
        width (int): Token-embedding width of the text tower.
        template (str): Prompt with one ``{}`` where the name goes.
        placeholder (str): Word repeated ``num_tokens`` times in the prompt
            whose token positions receive the learned vectors.
        init_std (float): Standard deviation of the normal initialisation.
    """

    def __init__(self, num_classes: int, num_tokens: int = 4, width: int = 512,
                 template: str = CLIP_TEMPLATE, placeholder: str = 'X',
                 init_std: float = 0.02) -> None:
        super().__init__()
        if num_classes < 1 or num_tokens < 1 or width < 1:
            raise ValueError('num_classes, num_tokens and width must be >= 1, '
                             f'got {num_classes}, {num_tokens}, {width}')
        if template.count('{}') != 1:
            raise ValueError(f'template must hold exactly one "{{}}": {template!r}')
        self.num_classes = num_classes
        self.num_tokens = num_tokens
        self.width = width
        self.template = template
        self.placeholder = placeholder
        self.init_std = init_std
        self.name_vectors = nn.Parameter(
            torch.empty(num_classes, num_tokens, width))
        nn.init.normal_(self.name_vectors, std=init_std)

    @property
    def prompt(self) -> str:
        """The prompt text with the placeholder words."""
        return self.template.format(' '.join([self.placeholder] * self.num_tokens))

    def prompt_tokens(self, text_encoder: Any) -> Tuple[torch.Tensor, int]:
        """Tokens of the prompt and the first position of the name slots.

        Args:
            text_encoder: A ``CLIPTextEncoder`` (``tokenize``).

        Returns:
            tuple[torch.Tensor, int]: ``[1, L]`` tokens and the index of the
            first of the ``num_tokens`` consecutive placeholder tokens.
        """
        tokens = text_encoder.tokenize([self.prompt])
        slot_id = text_encoder.tokenize([self.placeholder])[0, 1]
        pos = (tokens[0] == slot_id).nonzero().flatten().tolist()
        first = pos[0] if pos else -1
        if len(pos) != self.num_tokens or pos != list(
                range(first, first + self.num_tokens)):
            raise ValueError(
                f'the prompt {self.prompt!r} must tokenize to exactly '
                f'{self.num_tokens} consecutive placeholder tokens; found '
                f'positions {pos} (choose a placeholder word that is a single '
                'token and does not occur in the template)')
        return tokens, first

    def prompt_embeddings(self, text_encoder: Any) -> Tuple[torch.Tensor,
                                                             torch.Tensor]:
        """Token embeddings of the per-class prompts with the learned slots.

        Args:
            text_encoder: A ``CLIPTextEncoder`` (``tokenize``,
                ``token_embedding``).

        Returns:
            tuple[torch.Tensor, torch.Tensor]: ``[C, L, width]`` embeddings
            and their ``[C, L]`` tokens.
        """
        tokens, first = self.prompt_tokens(text_encoder)
        tokens = tokens.to(self.name_vectors.device)
        embeds = text_encoder.token_embedding(tokens)
        if embeds.shape[-1] != self.width:
            raise ValueError(f'text tower width {embeds.shape[-1]} != learner '
                             f'width {self.width}')
        embeds = embeds.to(self.name_vectors.dtype).expand(self.num_classes,
                                                           -1, -1)
        end = first + self.num_tokens
        embeds = torch.cat([embeds[:, :first], self.name_vectors,
                            embeds[:, end:]], dim=1)
        return embeds, tokens.expand(self.num_classes, -1)

    def forward(self, text_encoder: Any,
                indices: Optional[torch.Tensor] = None) -> torch.Tensor:
        """L2-normalised class-name embeddings.

        Args:
            text_encoder: A ``CLIPTextEncoder`` (``tokenize``,
                ``token_embedding``, ``encode_embeddings``).
            indices (torch.Tensor, optional): Encode only these classes.

        Returns:
            torch.Tensor: ``[C, D]`` (or ``[len(indices), D]``) embeddings.
        """
        embeds, tokens = self.prompt_embeddings(text_encoder)
        if indices is not None:
            embeds, tokens = embeds[indices], tokens[indices]
        return text_encoder.encode_embeddings(embeds, tokens)
