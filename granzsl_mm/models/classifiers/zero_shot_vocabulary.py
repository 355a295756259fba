"""The switchable vocabulary of :class:`ZeroShotMultiLabelClassifier`.

:class:`VocabularyMixin` gives a classifier holding a
:class:`~granzsl_mm.models.text.ClassVocabulary` (``self.vocab``), a text
encoder (``self.text_encoder``) and prompt templates (``self.templates``) its
vocabulary API: which words are scored, learned embeddings (set, loaded from
and exported to vocabulary files) and the embeddings of any words, cached in
``self._vocab_embeds`` until the vocabulary changes.
"""
from typing import List, Optional, Sequence, Tuple, Union

import torch

__all__ = ['VocabularyMixin']


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
