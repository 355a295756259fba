"""A switchable vocabulary of words with learned or prompt embeddings, and
the vocabulary file that stores learned ones.

``ClassVocabulary`` holds the classes of a dataset (seen then unseen), the
words currently scored (a named subset or any list) and learned embeddings
for some words (GranZSL names, tuned prompts, from vocabulary files). A word
without a learned embedding is embedded by a prompt-template ensemble; each
word's source (``'learned'`` / ``'prompt'``) is reported.

A vocabulary file stores joint-space class embeddings together with their
names, so that names learned by one model can be reused by a zero-shot
classifier or the inferencer without the training code. It is a
``torch.save`` dict of plain types and tensors only (loaded with
``weights_only=True``)::

    {'format': 'granzsl_mm.vocabulary/v1',
     'names': ['cat', 'dog', ...],               # N unique strings
     'embeddings': FloatTensor [N, D],           # L2-normalised
     'sources': ['learned', 'learned', ...],     # per name
     'meta': {'method': 'GranZSL', 'arch': 'ViT-B-16', ...}}
"""
import os.path as osp
from typing import Callable, Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from torch import Tensor

from granzsl_mm.structures.class_names import read_class_names
from granzsl_mm.utils.atomic_io import atomic_open

__all__ = ['VOCABULARY_FORMAT', 'save_vocabulary_file', 'load_vocabulary_file',
           'ClassVocabulary']


VOCABULARY_FORMAT = 'granzsl_mm.vocabulary/v1'


def _check(names: Sequence[str], embeddings: Tensor,
           sources: Sequence[str], where: str) -> None:
    if not isinstance(embeddings, Tensor) or embeddings.dim() != 2:
        raise ValueError(f'{where}: embeddings must be a [N, D] tensor, got '
                         f'{getattr(embeddings, "shape", type(embeddings))}')
    if len(names) != embeddings.shape[0] or len(sources) != len(names):
        raise ValueError(f'{where}: {len(names)} names, {len(sources)} '
                         f'sources and {embeddings.shape[0]} embeddings')
    bad = [n for n in names if not isinstance(n, str) or not n.strip()]
    if bad:
        raise ValueError(f'{where}: names must be non-empty strings: {bad}')
    dup = sorted({n for n in names if list(names).count(n) > 1})
    if dup:
        raise ValueError(f'{where}: duplicate names {dup}')
    if not torch.isfinite(embeddings).all():
        raise ValueError(f'{where}: embeddings hold NaN or inf')


def save_vocabulary_file(path: str,
                         names: Sequence[str],
                         embeddings: Tensor,
                         sources: Optional[Sequence[str]] = None,
                         meta: Optional[dict] = None) -> str:
    """Write a vocabulary file atomically.

    Args:
        path: Output path (conventionally ``*.pt``).
        names: Class names, unique.
        embeddings: ``[N, D]`` class embeddings (normalised on writing).
        sources: Per-name origin (default ``'learned'`` for all).
        meta: Free-form information (method, CLIP architecture, ...).

    Returns:
        str: ``path``.
    """
    names = [str(n) for n in names]
    sources = list(sources) if sources is not None else ['learned'] * len(
        names)
    _check(names, embeddings, sources, path)
    data = dict(format=VOCABULARY_FORMAT, names=names,
                embeddings=F.normalize(embeddings.detach().float().cpu(),
                                       dim=-1).contiguous(),
                sources=[str(s) for s in sources], meta=dict(meta or {}))
    # atomic, synced, mode 0o666 & ~umask (as a plain `open` gives)
    with atomic_open(path, suffix='.tmp') as f:
        torch.save(data, f)
    return path


def load_vocabulary_file(path: str) -> Dict[str, object]:
    """Read and validate a vocabulary file.

    Args:
        path: A file written by :func:`save_vocabulary_file`.

    Returns:
        dict: ``names`` (list[str]), ``embeddings`` (``[N, D]`` float),
        ``sources`` (list[str]) and ``meta`` (dict).
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'vocabulary file not found: {path}')
    try:
        data = torch.load(path, map_location='cpu', weights_only=True)
    except Exception as e:  # pickle / zip errors: name the file
        raise ValueError(f'{path} is not a vocabulary file ({e})') from e
    if not isinstance(data, dict) or data.get('format') != VOCABULARY_FORMAT:
        raise ValueError(f'{path} is not a {VOCABULARY_FORMAT!r} file')
    names = list(data.get('names', []))
    sources = list(data.get('sources') or ['learned'] * len(names))
    embeddings = data.get('embeddings')
    _check(names, embeddings, sources, path)
    return dict(names=names, embeddings=embeddings.float(), sources=sources,
                meta=dict(data.get('meta') or {}))


class ClassVocabulary:
    """Classes, the current words and learned embeddings.

    Args:
        class_names: Classes of the dataset (seen then unseen), a
            ``seen`` / ``unseen`` dict or a file (see
            :func:`~granzsl_mm.structures.read_class_names`).
        num_seen_classes: Number of seen classes (a split file sets it).
    """

    def __init__(self, class_names: Union[str, Sequence[str], None] = None,
                 num_seen_classes: Optional[int] = None) -> None:
        self.class_names, file_seen = read_class_names(class_names or [])
        if num_seen_classes is None:
            num_seen_classes = file_seen
        if num_seen_classes is not None and not (
                0 <= num_seen_classes <= len(self.class_names)):
            raise ValueError(f'num_seen_classes={num_seen_classes} outside '
                             f'[0, {len(self.class_names)}]')
        self.num_seen_classes = num_seen_classes
        self.learned: Dict[str, Tuple[Tensor, str]] = {}
        self.words: List[str] = []
        self.subset: Optional[str] = None  # 'all' / 'seen' / 'unseen'

    def select(self, vocabulary: Union[str, Sequence[str]]) -> List[str]:
        """Set the current words.

        Args:
            vocabulary: ``'all'`` / ``'gzsl'``, ``'seen'``, ``'unseen'`` /
                ``'zsl'`` (of the classes) or a list of words.

        Returns:
            list[str]: The per-word sources.
        """
        if isinstance(vocabulary, str):
            key = {'gzsl': 'all', 'zsl': 'unseen'}.get(vocabulary, vocabulary)
            if key not in ('all', 'seen', 'unseen'):
                raise ValueError("vocabulary must be 'all', 'seen', 'unseen', "
                                 f"'zsl', 'gzsl' or a list of words, got "
                                 f'{vocabulary!r}')
            if not self.class_names:
                raise ValueError(f'vocabulary {vocabulary!r} needs class_names')
            if key != 'all' and self.num_seen_classes is None:
                raise ValueError(f'vocabulary {vocabulary!r} needs '
                                 'num_seen_classes')
            seen = self.num_seen_classes or 0
            words = dict(all=self.class_names, seen=self.class_names[:seen],
                         unseen=self.class_names[seen:])[key]
        else:
            key, words = None, [str(w).strip() for w in vocabulary]
        if not words or any(not w for w in words):
            raise ValueError(f'the vocabulary must hold non-empty words, got '
                             f'{list(words)!r}')
        self.words, self.subset = list(words), key
        return self.sources

    @property
    def sources(self) -> List[str]:
        """``'learned'`` or ``'prompt'`` per current word."""
        return ['learned' if w in self.learned else 'prompt'
                for w in self.words]

    def add_learned(self, names: Sequence[str], embeddings: Tensor,
                    origin: str = 'learned') -> None:
        """Register learned ``[N, D]`` embeddings (normalised, kept on CPU)."""
        if embeddings.dim() != 2 or embeddings.shape[0] != len(names):
            raise ValueError(f'{len(names)} names for embeddings of shape '
                             f'{tuple(embeddings.shape)}')
        feats = F.normalize(embeddings.detach().float().cpu(), dim=-1)
        for name, feat in zip(names, feats):
            self.learned[str(name)] = (feat, str(origin))

    def load(self, path: str) -> List[str]:
        """Add the embeddings of a vocabulary file; returns its names."""
        data = load_vocabulary_file(path)
        for i, name in enumerate(data['names']):
            self.add_learned([name], data['embeddings'][i:i + 1],
                             data['sources'][i])
        return list(data['names'])

    def export(self, path: str, meta: Optional[dict] = None) -> str:
        """Write the learned embeddings to a vocabulary file."""
        if not self.learned:
            raise ValueError('no learned embeddings to export')
        names = list(self.learned)
        return save_vocabulary_file(
            path, names, torch.stack([self.learned[n][0] for n in names]),
            [self.learned[n][1] for n in names], meta)

    def embed(self, words: Sequence[str],
              encode_prompts: Callable[[List[str]], Tensor]
              ) -> Tuple[Tensor, List[str]]:
        """Embeddings of words: learned ones, else ``encode_prompts``.

        Args:
            words: Any words.
            encode_prompts: Maps the words without a learned embedding to
                their ``[M, D]`` prompt-ensemble embeddings.

        Returns:
            tuple: ``[N, D]`` normalised CPU embeddings and per-word sources.
        """
        words = list(words)
        new = list(dict.fromkeys(w for w in words if w not in self.learned))
        prompted = {}
        if new:
            with torch.no_grad():
                feats = encode_prompts(new)
            prompted = dict(zip(new, F.normalize(feats.float().cpu(), dim=-1)))
        embeds = torch.stack([self.learned[w][0] if w in self.learned
                              else prompted[w] for w in words])
        return embeds, ['learned' if w in self.learned else 'prompt'
                        for w in words]
