"""CLIP zero-shot multi-label classifier with a switchable vocabulary.

Scores are per class and independent (sigmoid or raw, never a softmax over
the classes), so one pass over the whole vocabulary serves ZSL and GZSL;
the exception, ``score_mode='tagclip'`` (TagCLIP's softmax over the scored
words), scores ZSL in a pass of its own.
Every word is embedded either by a *learned* class embedding (GranZSL names,
tuned prompts: see :mod:`granzsl_mm.models.text.class_vocabulary`) or, when it
has none, by the prompt-template ensemble of the CLIP text tower; the
predictions say which (``vocabulary_sources``). :class:`VocabularyMixin`
holds the vocabulary API (which words are scored, learned embeddings set,
loaded from and exported to vocabulary files, the embeddings of any words
cached in ``self._vocab_embeds`` until the vocabulary changes).
"""
from typing import List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmpretrain.models.classifiers import BaseClassifier
from mmpretrain.structures import DataSample

from granzsl_mm.registry import MODELS
from granzsl_mm.structures.constants import (
    CLIP_MEAN,
    CLIP_STD,
    DEFAULT_SNIPPET_GRIDS,
)
from granzsl_mm.structures.prompts import CLIP_TEMPLATE

from ..text.class_vocabulary import ClassVocabulary
from ..tta.snippets import aggregate_snippets, cut_snippets, local_scores
from ..tta.view_chunks import ViewChunker
from .base import MultiLabelClassifierBase
from .mkt_scores import topk_patch_scores
from .tagclip_scores import TagCLIPScorer

__all__ = ['ZeroShotMultiLabelClassifier', 'topk_patch_scores']


class VocabularyMixin:
    """Vocabulary methods over ``self.vocab`` (see the module docstring)."""

    vocab: object
    text_encoder: torch.nn.Module
    templates: Union[str, Sequence[str]]
    _vocab_embeds: Optional[torch.Tensor]

    @property
    def class_names(self) -> List[str]:
        """Classes of the dataset, seen then unseen."""
        return self.vocab.class_names

    @property
    def num_seen_classes(self) -> Optional[int]:
        """Number of seen classes (None when unknown)."""
        return self.vocab.num_seen_classes

    @property
    def vocabulary(self) -> List[str]:
        """The words :meth:`predict` scores, in order."""
        return self.vocab.words

    @property
    def vocabulary_sources(self) -> List[str]:
        """``'learned'`` or ``'prompt'`` per vocabulary word."""
        return self.vocab.sources

    @property
    def learned_names(self) -> List[str]:
        """Words that have a learned embedding."""
        return list(self.vocab.learned)

    def set_vocabulary(self, vocabulary: Union[str, Sequence[str]]) -> List[str]:
        """Choose the words :meth:`predict` scores (no rebuilding).

        Args:
            vocabulary: ``'all'`` / ``'gzsl'`` (all classes, seen then
                unseen), ``'seen'``, ``'unseen'`` / ``'zsl'``, or any list of
                words (known or new).

        Returns:
            list[str]: Per word, ``'learned'`` or ``'prompt'``.
        """
        self._vocab_embeds = None
        return self.vocab.select(vocabulary)

    def set_learned_embeddings(self, names: Sequence[str],
                               embeddings: torch.Tensor,
                               source: str = 'learned') -> None:
        """Register learned embeddings (``[N, D]``) for words.

        Args:
            names: Words, one per row.
            embeddings: ``[N, D]`` joint-space embeddings.
            source: Origin kept with them in exported vocabulary files
                (e.g. ``'GranZSL'``); predictions report ``'learned'``.
        """
        dim = self.text_encoder.encode(['x']).shape[-1]
        if embeddings.dim() == 2 and embeddings.shape[1] != dim:
            raise ValueError(f'learned embeddings have dimension '
                             f'{embeddings.shape[1]}, the model {dim}')
        self.vocab.add_learned(names, embeddings, source)
        self._vocab_embeds = None

    def load_vocabulary(self, path: str) -> List[str]:
        """Load learned embeddings from a vocabulary file; returns its names."""
        data_names = self.vocab.load(path)
        dim = self.text_encoder.encode(['x']).shape[-1]
        width = self.vocab.learned[data_names[0]][0].shape[-1]
        if width != dim:
            for name in data_names:
                self.vocab.learned.pop(name, None)
            raise ValueError(f'{path}: embeddings of dimension {width}, the '
                             f'model {dim}')
        self._vocab_embeds = None
        return data_names

    def export_vocabulary(self, path: str, meta: Optional[dict] = None) -> str:
        """Write the learned embeddings to a vocabulary file."""
        return self.vocab.export(path, meta)

    def embed_words(self, words: Sequence[str]
                    ) -> Tuple[torch.Tensor, List[str]]:
        """Embeddings of any words without changing the vocabulary.

        Args:
            words: Words; learned ones use their learned embedding, the
                others the prompt-template ensemble.

        Returns:
            tuple: ``[N, D]`` normalised CPU embeddings and the per-word
            sources (``'learned'`` or ``'prompt'``).
        """
        return self.vocab.embed(words, lambda new: self.text_encoder.
                                encode_with_templates(new, self.templates))

    def class_embeddings(self) -> torch.Tensor:
        """``[V, D]`` normalised embeddings of the current vocabulary."""
        if self._vocab_embeds is None:
            self._vocab_embeds = self.embed_words(self.vocabulary)[0]
        return self._vocab_embeds


SCORE_MODES = ('global', 'local', 'both', 'tagclip')
LOCAL_POOLINGS = ('softmax', 'topk')
SCORE_ACTS = ('none', 'sigmoid')


@MODELS.register_module()
class ZeroShotMultiLabelClassifier(VocabularyMixin, MultiLabelClassifierBase,
                                   BaseClassifier):
    """Zero-shot multi-label scores of images against a vocabulary.

    Args:
        backbone: Image encoder returning ``(global [B, D], dense [B, P, D]
            or None)`` (``OpenCLIPBackbone``) or any MMPretrain backbone
            whose last output (after ``neck``) is ``[B, D]`` (global only).
        class_names: Classes of the dataset, seen then unseen (the order of
            its ``dataset_meta['classes']``): a key such as ``'coco48_17'``,
            a list or a file (see
            :func:`~granzsl_mm.structures.read_class_names`; a split also
            sets the seen count).
        num_seen_classes: How many of them are seen (``'seen'`` / ``'unseen'``
            vocabularies and ``pred_score_zsl``).
        neck: Optional MMPretrain neck mapping the backbone output to ``D``.
        text_encoder: ``CLIPTextEncoder`` config / module. ``None`` shares the
            backbone's CLIP (``backbone.clip``).
        templates: Prompt templates (``'single'``, ``'openai_imagenet_80'``
            or a list of strings with ``{}``).
        score_mode: ``'global'``, ``'local'``, ``'both'`` (the mean) or
            ``'tagclip'`` (TagCLIP's local-to-global scores, see
            :mod:`.tagclip_scores`: a softmax over the scored words and the
            background words, so ZSL is scored in a pass of its own).
        local_pooling: ``'softmax'`` (GranZSL: ``sum_p softmax(sL) * sL``) or
            ``'topk'`` (MKT: ``s`` * mean of the top-k patch cosines).
        topk_patches: k of ``'topk'`` pooling.
        logit_scale: ``s``; ``'clip'`` uses CLIP's learned temperature.
        logit_bias: ``b`` added to the scaled scores before ``score_act``
            (None: none; ``'clip'``: the model's learned ``logit_bias``,
            SigLIP's, for ``sigmoid(s * cos + b)``).
        score_act: ``'none'`` (raw scores) or ``'sigmoid'``.
        vocabulary: Initial vocabulary, see :meth:`set_vocabulary`.
        vocabulary_file: Learned embeddings to load (:meth:`load_vocabulary`).
        tagclip: Settings of ``score_mode='tagclip'``
            (:class:`.tagclip_scores.TagCLIPScorer`: ``background``,
            ``layers``, ``min_votes``, ``reweight``).
        data_preprocessor: Defaults to ``ClsDataPreprocessor`` with CLIP's
            mean / std and BGR->RGB.
        init_cfg: Initialisation config.
    """

    def __init__(self,
                 backbone: Union[dict, nn.Module],
                 class_names: Union[str, Sequence[str], None] = None,
                 num_seen_classes: Optional[int] = None,
                 neck: Optional[dict] = None,
                 text_encoder: Union[dict, nn.Module, None] = None,
                 templates: Union[str, Sequence[str]] = 'single',
                 score_mode: str = 'global',
                 local_pooling: str = 'softmax',
                 topk_patches: int = 1,
                 logit_scale: Union[float, str] = 'clip',
                 logit_bias: Union[float, str, None] = None,
                 score_act: str = 'none',
                 vocabulary: Union[str, Sequence[str]] = 'all',
                 vocabulary_file: Optional[str] = None,
                 tagclip: Optional[dict] = None,
                 data_preprocessor: Union[dict, nn.Module, None] = None,
                 init_cfg: Optional[dict] = None) -> None:
        if data_preprocessor is None:
            data_preprocessor = dict(type='ClsDataPreprocessor', mean=CLIP_MEAN,
                                     std=CLIP_STD, to_rgb=True)
        if isinstance(data_preprocessor, dict):  # our scope, not mmengine's
            data_preprocessor = MODELS.build(data_preprocessor)
        super().__init__(init_cfg=init_cfg, data_preprocessor=data_preprocessor)
        for value, allowed, what in ((score_mode, SCORE_MODES, 'score_mode'),
                                     (local_pooling, LOCAL_POOLINGS,
                                      'local_pooling'),
                                     (score_act, SCORE_ACTS, 'score_act')):
            if value not in allowed:
                raise ValueError(f'{what} must be one of {allowed}, got '
                                 f'{value!r}')
        self.vocab = ClassVocabulary(class_names, num_seen_classes)
        self.backbone = backbone if isinstance(backbone, nn.Module) \
            else MODELS.build(backbone)
        self.neck = MODELS.build(neck) if isinstance(neck, dict) else neck
        self.text_encoder = self.build_text_encoder(text_encoder,
                                                    self.backbone)
        self.templates = templates
        self.score_mode = score_mode
        self.local_pooling = local_pooling
        self.topk_patches = int(topk_patches)
        if logit_scale == 'clip' and not hasattr(
                getattr(self.text_encoder, 'clip', None), 'logit_scale'):
            raise ValueError("logit_scale='clip' needs a CLIP text encoder")
        self._logit_scale = logit_scale if logit_scale == 'clip' else float(
            logit_scale)
        if logit_bias == 'clip' and getattr(getattr(
                self.text_encoder, 'clip', None), 'logit_bias', None) is None:
            raise ValueError("logit_bias='clip' needs a model with a learned "
                             'logit_bias (SigLIP)')
        self._logit_bias = logit_bias if logit_bias in (None, 'clip') \
            else float(logit_bias)
        self.score_act = score_act
        self.tagclip = TagCLIPScorer(**(tagclip or {}))
        self._tagclip_background: Optional[torch.Tensor] = None
        self._vocab_embeds: Optional[torch.Tensor] = None
        # views per backbone call of snippet_scores: measured on a CPU
        self.view_chunker = ViewChunker('auto')
        if vocabulary_file:
            self.load_vocabulary(vocabulary_file)
        self.set_vocabulary(vocabulary)

    @classmethod
    def from_granzsl(cls, model: nn.Module,
                     class_names: Optional[Sequence[str]] = None
                     ) -> 'ZeroShotMultiLabelClassifier':
        """A zero-shot view of a GranZSL model (shared weights).

        The classifier shares the model's backbone, text encoder and data
        preprocessor, registers its learned class names as learned
        embeddings (every other word is embedded by the prompt of its name
        learner) and scores like it (``score_mode``, softmax pooling,
        ``logit_scale``): its scores over the model's own classes equal the
        model's ``predict``.

        Args:
            model (nn.Module): A GranZSL-like model (``backbone``,
                ``text_encoder``, ``class_name_embeddings()``,
                ``logit_scale``, ``score_mode``); set to eval mode.
            class_names (Sequence[str], optional): Names of its classes
                (default ``model.class_names``, else ``class_<i>``).

        Returns:
            ZeroShotMultiLabelClassifier: In eval mode, vocabulary ``'all'``.

        Raises:
            TypeError: The model is not GranZSL-like.
            ValueError: The number of names differs from the number of
                learned embeddings.
        """
        needed = ('backbone', 'text_encoder', 'class_name_embeddings',
                  'logit_scale', 'score_mode')
        if not all(hasattr(model, n) for n in needed):
            raise TypeError(f'{type(model).__name__} is neither a '
                            'ZeroShotMultiLabelClassifier nor GranZSL-like '
                            f'(needs {needed})')
        model.eval()
        with torch.no_grad():
            names_emb = model.class_name_embeddings().detach().float().cpu()
        names = list(class_names or getattr(model, 'class_names', None) or [
            f'class_{i}' for i in range(len(names_emb))])
        if len(names) != len(names_emb):
            raise ValueError(f'{len(names)} class names for {len(names_emb)} '
                             'learned class embeddings')
        learner = getattr(model, 'name_learner', None)
        template = getattr(learner, 'template', CLIP_TEMPLATE)
        wrapper = cls(
            backbone=model.backbone, text_encoder=model.text_encoder,
            class_names=names,
            num_seen_classes=getattr(model, 'num_seen_classes', None),
            templates=[template], score_mode=model.score_mode,
            local_pooling='softmax', logit_scale=float(model.logit_scale),
            score_act='none', data_preprocessor=model.data_preprocessor)
        wrapper.set_learned_embeddings(names, names_emb, type(model).__name__)
        wrapper.set_vocabulary('all')
        return wrapper.eval()

    @property
    def logit_scale(self) -> float:
        """``s``: the configured number, or CLIP's current temperature."""
        if self._logit_scale == 'clip':
            return float(self.text_encoder.clip.logit_scale.detach().exp())
        return self._logit_scale

    @property
    def logit_bias(self) -> float:
        """``b``: the configured number, the model's learned bias, or 0."""
        if self._logit_bias is None:
            return 0.0
        if self._logit_bias == 'clip':
            return float(self.text_encoder.clip.logit_bias.detach())
        return self._logit_bias

    # -------------------------------------------------------------- scoring
    def extract_feat(self, inputs: torch.Tensor
                     ) -> Tuple[torch.Tensor, Optional[torch.Tensor]]:
        """``(global [B, D], dense [B, P, D] or None)`` of the images."""
        out = self.backbone(inputs)
        if isinstance(out, torch.Tensor):
            out = (out, )
        if self.neck is not None:
            return self.neck(tuple(out))[-1], None
        dense = out[1] if len(out) > 1 else None
        return out[0], dense

    def _grid(self, images: torch.Tensor, positions: int) -> Tuple[int, int]:
        patch = getattr(self.backbone, 'patch_size', None)
        if patch is not None:
            grid = (images.shape[-2] // patch[0], images.shape[-1] // patch[1])
            if grid[0] * grid[1] == positions:
                return grid
        side = int(round(positions ** 0.5))
        if side * side != positions:
            raise ValueError(f'cannot arrange {positions} dense positions '
                             'into a map')
        return side, side

    def view_cosines(self, images: torch.Tensor,
                     indices: Optional[Sequence[int]] = None,
                     embeddings: Optional[torch.Tensor] = None
                     ) -> Tuple[Optional[torch.Tensor], torch.Tensor]:
        """Local cosine maps ``[N, V, h, w]`` (or None) and global ``[N, V]``.

        Args:
            images: ``[N, 3, H, W]`` preprocessed images.
            indices: Vocabulary positions to score (default: all).
            embeddings: ``[V, D]`` word embeddings to use instead of the
                vocabulary's (see :meth:`embed_words`).
        """
        names = self.class_embeddings() if embeddings is None else embeddings
        if indices is not None:
            names = names[list(indices)]
        global_feat, dense = self.extract_feat(images)
        names = names.to(global_feat.device, torch.float32)
        glob = F.normalize(global_feat.float(), dim=-1) @ names.t()
        if dense is None:
            return None, glob
        h, w = self._grid(images, dense.shape[1])
        local = F.normalize(dense.float(), dim=-1) @ names.t()
        return local.transpose(1, 2).reshape(len(images), -1, h, w), glob

    def scores_from_cosines(self, local: Optional[torch.Tensor],
                            glob: torch.Tensor) -> torch.Tensor:
        """Combine cosines into ``[N, V]`` scores (then ``score_act``)."""
        scale = self.logit_scale
        if self.score_mode == 'tagclip':
            raise ValueError("score_mode='tagclip' scores images "
                             '(tagclip_scores), not cosines')
        if self.score_mode != 'global' and local is None:
            raise ValueError(f"score_mode={self.score_mode!r} needs dense "
                             "features (backbone dense_mode='plain' or "
                             "'clearclip')")
        global_term = scale * glob
        if self.score_mode == 'global':
            scores = global_term
        else:
            local_term = (local_scores(local, scale)
                          if self.local_pooling == 'softmax' else
                          topk_patch_scores(local, self.topk_patches, scale))
            scores = local_term if self.score_mode == 'local' else 0.5 * (
                global_term + local_term)
        if self._logit_bias is not None:
            scores = scores + self.logit_bias
        return scores.sigmoid() if self.score_act == 'sigmoid' else scores

    def snippet_scores(self, images: torch.Tensor,
                       grids: Sequence[int] = DEFAULT_SNIPPET_GRIDS
                       ) -> torch.Tensor:
        """GranZSL snippet aggregation of the full image and its grids.

        Needs dense features and ``local_pooling='softmax'``.
        """
        if self.score_mode == 'tagclip':
            raise ValueError("score_mode='tagclip' has no snippet "
                             'aggregation (TagCLIP crops its own regions); '
                             'test without --tta')
        if self.local_pooling != 'softmax':
            raise ValueError("snippet aggregation pools with a softmax; set "
                             "local_pooling='softmax'")
        crops = cut_snippets(images, grids)
        views = torch.cat([images.unsqueeze(1), crops.to(images.dtype)], 1)
        local, glob = self.view_chunker(self.view_cosines,
                                        views.flatten(0, 1))
        if local is None:
            raise ValueError('snippet aggregation needs dense features')
        bsz, num = views.shape[:2]
        local = local.reshape(bsz, num, *local.shape[1:])
        glob = glob.reshape(bsz, num, -1)
        scores = aggregate_snippets(local[:, 0], glob[:, 0], local[:, 1:],
                                    glob[:, 1:], grids, self.logit_scale,
                                    mode=self.score_mode)
        if self._logit_bias is not None:
            scores = scores + self.logit_bias
        return scores.sigmoid() if self.score_act == 'sigmoid' else scores

    # ----------------------------------------------------------------- modes
    def tagclip_scores(self, inputs: torch.Tensor,
                       embeddings: Optional[torch.Tensor] = None
                       ) -> torch.Tensor:
        """TagCLIP's ``[B, V]`` scores (``score_act`` applied).

        Args:
            inputs: ``[B, 3, H, W]`` preprocessed images.
            embeddings: ``[V, D]`` words scored (default: the vocabulary);
                the softmax runs over them and the background words.
        """
        if self._tagclip_background is None:
            self._tagclip_background = self.embed_words(
                self.tagclip.background)[0] if self.tagclip.background \
                else torch.zeros(0, self.class_embeddings().shape[1])
        names = self.class_embeddings() if embeddings is None else embeddings
        scores = self.tagclip.scores(self.backbone, inputs, names,
                                     self._tagclip_background,
                                     self.logit_scale)
        return scores.sigmoid() if self.score_act == 'sigmoid' else scores

    def forward_tensor(self, inputs: torch.Tensor) -> torch.Tensor:
        """``[B, V]`` scores over the vocabulary."""
        if self.score_mode == 'tagclip':
            return self.tagclip_scores(inputs)
        return self.scores_from_cosines(*self.view_cosines(inputs))

    def loss(self, inputs: torch.Tensor, data_samples: List[DataSample]):
        """Nothing to train: a zero-shot classifier."""
        raise NotImplementedError(
            'ZeroShotMultiLabelClassifier has no trainable part; train a '
            'method (GranZSL, ImageClassifier + OpenCLIPBackbone, ...) and '
            'load its learned embeddings with vocabulary_file=...')

    @torch.no_grad()
    def predict(self, inputs: torch.Tensor,
                data_samples: Optional[List[DataSample]] = None
                ) -> List[DataSample]:
        """``pred_score`` over the vocabulary (``pred_score_zsl`` too when the
        vocabulary is ``'all'`` and the seen classes are known)."""
        if self.score_mode == 'tagclip':
            scores = self.tagclip_scores(inputs)
            zsl = None
            if self.vocab.subset == 'all' and self.num_seen_classes:
                zsl = self.tagclip_scores(
                    inputs, self.class_embeddings()[self.num_seen_classes:])
            meta = dict(vocabulary=self.vocabulary,
                        vocabulary_sources=self.vocabulary_sources)
            return self.pack_scores(scores, data_samples, zsl, meta)
        return self.pack_predictions(
            self.scores_from_cosines(*self.view_cosines(inputs)), data_samples)

    def pack_predictions(self, scores: torch.Tensor,
                         data_samples: Optional[List[DataSample]] = None
                         ) -> List[DataSample]:
        """Write ``pred_score`` (+ vocabulary metainfo) into samples."""
        meta = dict(vocabulary=self.vocabulary,
                    vocabulary_sources=self.vocabulary_sources)
        zsl = scores[:, self.num_seen_classes:] if (
            self.vocab.subset == 'all' and self.num_seen_classes) else None
        return self.pack_scores(scores, data_samples, zsl, meta)

    def train(self, mode: bool = True) -> 'ZeroShotMultiLabelClassifier':
        """Switch mode; prompt embeddings are recomputed afterwards."""
        super().train(mode)
        self._vocab_embeds = None
        self._tagclip_background = None
        return self
