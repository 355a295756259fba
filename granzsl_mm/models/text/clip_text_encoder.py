"""CLIPTextEncoder: open_clip's text tower with EOT truncation and a cache.

CLIP text towers are causal and pool the EOT (argmax) token, so a token's
output depends only on the tokens before it: cutting the batch to its longest
EOT position (+1) gives the same features with far less compute. Towers that
are not of this kind (SigLIP last-token pooling, non-causal, CoCa, Hugging
Face) are never truncated. :meth:`CLIPTextEncoder.encode` also sorts the
texts by token length before batching, so every batch is cut to its own
longest prompt (still exact: each row only sees its own tokens), shows a
progress bar when it needs more than one batch, and keeps features of a
frozen tower in :class:`TextFeatureCache` (memory, and on disk when a cache
folder is set).
"""
from typing import Any, List, Optional, Sequence, Union

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule
from torch import Tensor, nn

from granzsl_mm.registry import MODELS
from granzsl_mm.structures.prompts import get_templates

from ..backbones.open_clip_builder import build_open_clip
from .text_feature_cache import (
    TextFeatureCache,
    default_cache_dir,
    hash_module_weights,
)
from .tower_view import TowerView

__all__ = ['CLIPTextEncoder']


@MODELS.register_module()
class CLIPTextEncoder(BaseModule):
    """Encode text (or token-embedding sequences) into CLIP's joint space.

    Args:
        arch: open_clip architecture name.
        pretrained: open_clip tag, local checkpoint path, or ``'random'``
            (an explicitly random tower; None is refused).
        model_cfg: open_clip config dict for a custom architecture.
        precision: ``'fp32'``, ``'bf16'`` or ``'fp16'``.
        frozen: Freeze the tower (enables the feature cache).
        truncate: Cut causal-EOT towers to the longest prompt of a batch.
        cache_dir: Folder for the on-disk feature cache (None: memory only;
            ``'auto'``: the process-wide folder of
            :func:`~.text_feature_cache.set_default_cache_dir` /
            ``GRANZSL_MM_TEXT_CACHE``, memory only when unset).
        batch_size: Texts per forward in :meth:`encode`.
        progress: Show a progress bar (stderr) when :meth:`encode` runs more
            than one batch.
        init_cfg: mmengine init config.
    """

    def __init__(self,
                 arch: str = 'ViT-B-16',
                 pretrained: Optional[str] = None,
                 model_cfg: Optional[dict] = None,
                 precision: str = 'fp32',
                 frozen: bool = True,
                 truncate: bool = True,
                 cache_dir: Optional[str] = 'auto',
                 batch_size: int = 256,
                 progress: bool = True,
                 init_cfg: Optional[dict] = None,
                 _clip: Optional[nn.Module] = None,
                 _tokenizer: Any = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if _clip is None:
            self.clip, self.tokenizer = build_open_clip(
                arch, pretrained=pretrained, model_cfg=model_cfg,
                precision=precision)
            if frozen:
                self.clip.requires_grad_(False)
        else:
            # Shared with a backbone: kept out of this module's state_dict
            # (the owner registers and moves it).
            object.__setattr__(self, 'clip', _clip)
            self.tokenizer = _tokenizer
        self.tower = TowerView(self.clip)
        self.truncate = truncate
        self.batch_size = batch_size
        self.progress = progress
        self.cache = TextFeatureCache(
            default_cache_dir() if cache_dir == 'auto' else cache_dir)
        self.num_encoded = 0  # texts actually run through the tower

    @classmethod
    def from_clip(cls, clip_model: nn.Module, tokenizer: Any,
                  **kwargs) -> 'CLIPTextEncoder':
        """Wrap an existing open_clip model, sharing its weights.

        Args:
            clip_model: An open_clip ``CLIP`` / ``CustomTextCLIP``.
            tokenizer: Its tokenizer.
            **kwargs: ``truncate``, ``cache_dir``, ``batch_size``.

        Returns:
            CLIPTextEncoder: The encoder.
        """
        return cls(_clip=clip_model, _tokenizer=tokenizer, **kwargs)

    @property
    def is_causal_eot(self) -> bool:
        """Whether truncation to the longest EOT position is exact."""
        tower = self.tower
        return (tower.own_forward and tower.pool_type == 'argmax'
                and getattr(tower.src, 'attn_mask', None) is not None)

    @property
    def is_frozen(self) -> bool:
        """True when no text weight requires grad (cache is valid)."""
        return not any(p.requires_grad for p in self._text_params())

    def _text_params(self) -> List[Tensor]:
        src = self.tower.src
        if src is self.clip:
            return [p for n, p in self.clip.named_parameters()
                    if not n.startswith('visual.')]
        return list(src.parameters())

    @property
    def device(self) -> torch.device:
        """Device of the text weights."""
        return self._text_params()[0].device

    def tokenize(self, texts: Union[str, Sequence[str]]) -> Tensor:
        """Tokenize to a ``LongTensor [N, context_length]``."""
        if isinstance(texts, str):
            texts = [texts]
        return self.tokenizer(list(texts)).to(self.device)

    def token_embedding(self, tokens: Tensor) -> Tensor:
        """Token embeddings ``[N, L, W]`` (learnable slots can be replaced)."""
        if not self.tower.own_forward:
            raise NotImplementedError('token embeddings are not exposed for '
                                      'this text tower')
        return self.tower.token_embedding(tokens.to(self.device))

    def encode_embeddings(self, embeds: Tensor, tokens: Tensor) -> Tensor:
        """Run the text transformer on token embeddings.

        Args:
            embeds: ``[N, L, W]`` token embeddings (from :meth:`token_embedding`,
                possibly with learned slots).
            tokens: ``[N, L]`` token ids (locate the EOT / pooled token).

        Returns:
            Tensor: ``[N, D]`` L2-normalised features.
        """
        tower = self.tower
        x, tokens = self._transform(embeds, tokens)
        rows = torch.arange(x.shape[0], device=x.device)
        if tower.pool_type == 'argmax':
            x = x[rows, tokens.argmax(dim=-1)]
        elif tower.pool_type == 'eos':
            x = x[rows, (tokens == tower.eos_id).int().argmax(dim=-1)]
        elif tower.pool_type == 'first':
            x = x[:, 0]
        elif tower.pool_type == 'last':
            x = x[:, -1]
        else:
            raise NotImplementedError(f'pool_type {tower.pool_type!r}')
        proj = tower.text_projection
        if proj is not None:
            x = proj(x) if isinstance(proj, nn.Linear) else x @ proj
        # half-precision towers: float32 (a float64 tower stays float64)
        return F.normalize(x.to(torch.promote_types(x.dtype, torch.float32)),
                           dim=-1)

    def _transform(self, embeds: Tensor, tokens: Tensor) -> tuple:
        """The text transformer and ``ln_final`` on token embeddings (cut
        to the longest EOT where that is exact); returns ``(x, tokens)``."""
        tower = self.tower
        if not tower.own_forward:
            raise NotImplementedError('encode_embeddings needs an open_clip '
                                      'CLIP-style text transformer')
        if embeds.shape[:2] != tokens.shape:
            raise ValueError(f'embeds {tuple(embeds.shape)} and tokens '
                             f'{tuple(tokens.shape)} disagree')
        tokens = tokens.to(embeds.device)
        if self.truncate and self.is_causal_eot:
            length = int(tokens.argmax(dim=-1).max()) + 1
            embeds, tokens = embeds[:, :length], tokens[:, :length]
        length = tokens.shape[1]
        cast = tower.transformer.get_cast_dtype()
        x = embeds.to(cast) + tower.positional_embedding[:length].to(cast)
        mask = getattr(tower.src, 'attn_mask', None)
        if mask is not None:
            mask = mask[:length, :length]
        x = tower.transformer(x, attn_mask=mask)
        return tower.ln_final(x), tokens

    def encode_token_features(self, tokens: Tensor) -> tuple:
        """Every token's output, projected into the joint space.

        The ``[N, L, D]`` sequence whose EOT row :meth:`encode_embeddings`
        pools (TaI-DPT's ``TextEncoder(..., if_sequence=True)``). Causal-EOT
        towers are cut to the longest EOT of the batch (the positions after
        it are padding).

        Args:
            tokens: ``[N, L]`` token ids.

        Returns:
            tuple: ``features [N, L', D]`` (at least float32, not normalised)
            and the
            ``[N, L']`` tokens they belong to.
        """
        x, tokens = self._transform(self.token_embedding(tokens),
                                    tokens.to(self.device))
        proj = self.tower.text_projection
        if proj is not None:
            x = proj(x) if isinstance(proj, nn.Linear) else x @ proj
        # half-precision towers: float32 (float64 stays)
        return x.to(torch.promote_types(x.dtype, torch.float32)), tokens

    def _encode_tokens(self, tokens: Tensor) -> Tensor:
        if self.tower.own_forward:
            return self.encode_embeddings(self.token_embedding(tokens), tokens)
        return F.normalize(self.clip.encode_text(tokens).float(), dim=-1)

    def _encode_uncached(self, texts: List[str]) -> Tensor:
        tokens = self.tokenize(texts)
        order = torch.arange(len(texts))
        if self.truncate and self.is_causal_eot:
            # shortest first: each batch is cut to its own longest prompt
            order = torch.sort(tokens.argmax(dim=-1).cpu(),
                               stable=True).indices
        batches = range(0, len(texts), self.batch_size)
        bar = None
        if self.progress and len(batches) > 1:
            from tqdm import tqdm
            bar = tqdm(total=len(texts), desc='encoding prompts',
                       unit='prompt', leave=False, dynamic_ncols=True)
        feats = []
        for start in batches:
            rows = order[start:start + self.batch_size].to(tokens.device)
            feats.append(self._encode_tokens(tokens[rows]))
            self.num_encoded += len(rows)
            if bar is not None:
                bar.update(len(rows))
        if bar is not None:
            bar.close()
        out = torch.cat(feats)
        back = torch.empty_like(order)
        back[order] = torch.arange(len(texts))
        return out[back.to(out.device)]

    def _check_encoding(self, texts: List[str]) -> Tensor:
        """Encode a few texts to check a disk cache (not counted in
        ``num_encoded``: nothing is stored)."""
        with torch.no_grad():
            return self._encode_tokens(self.tokenize(texts))

    def encode(self, texts: Union[str, Sequence[str]]) -> Tensor:
        """Encode strings to ``[N, D]`` L2-normalised features.

        A frozen tower answers from the cache; only new texts are encoded.

        Args:
            texts: Strings.

        Returns:
            Tensor: ``[N, D]`` on the tower's device.
        """
        texts = [texts] if isinstance(texts, str) else list(texts)
        if not texts:
            raise ValueError('encode() needs at least one text')
        if not self.is_frozen:
            return self._encode_uncached(texts)
        self.cache.bind(self._weights_key(), self._check_encoding)
        new = self.cache.missing(texts)
        if new:
            with torch.no_grad():
                self.cache.add(new, self._encode_uncached(new))
        return self.cache.get(texts).to(self.device)

    def _weights_key(self) -> str:
        params = self._text_params()
        # In-place updates (load_state_dict, optimiser steps) bump _version.
        state = tuple((p.data_ptr(), p._version) for p in params)
        if state != getattr(self, '_key_state', None):
            self._key_state = state
            if self.cache.cache_dir is None:
                self._key = f'mem-{hash(state)}'
            else:
                self._key = hash_module_weights(params, self._structure())
        return self._key

    def _structure(self) -> str:
        """What, besides the weights, decides the features: module types
        (activation: GELU / QuickGELU), pooling, truncation-free maths."""
        src = self.tower.src
        modules = (src.named_modules() if src is not self.clip else (
            (n, m) for n, m in self.clip.named_modules()
            if not n.startswith('visual')))
        kinds = sorted({type(m).__name__ for _, m in modules})
        return f'{kinds}|{self.tower.pool_type}|{type(self.clip).__name__}'

    def encode_with_templates(self, names: Sequence[str],
                              templates: Union[str, Sequence[str]] = 'single'
                              ) -> Tensor:
        """Template-ensemble class embeddings.

        Args:
            names: Class names.
            templates: ``'single'``, ``'openai_imagenet_80'`` or a list of
                strings with ``{}``.

        Returns:
            Tensor: ``[N, D]`` mean of the normalised template features,
            re-normalised.
        """
        templates = get_templates(templates)
        names = list(names)
        texts = [t.format(n) for n in names for t in templates]
        feats = self.encode(texts).reshape(len(names), len(templates), -1)
        return F.normalize(feats.mean(dim=1), dim=-1)

    def forward(self, texts: Sequence[str]) -> Tensor:
        """Same as :meth:`encode`."""
        return self.encode(texts)

    def clear_cache(self) -> None:
        """Drop in-memory cached features."""
        self.cache.clear()
