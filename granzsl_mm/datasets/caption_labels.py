"""TaI-DPT's labels of a caption: the classes whose words it contains.

Reference: ``guozix/TaI-DPT`` ``datasets/coco2014_distill.py`` (and its VOC /
NUS-WIDE twins). Per caption: lower-case, tokenize, lemmatize each word,
join with spaces; then every multi-word synonym found (``' ' + name + ' '``)
labels its class and is cut out of the caption, then every single word (and
every multi-word synonym written without its spaces) does the same. A
caption that names no class is dropped.

The reference tokenizes, POS-tags and lemmatizes with nltk and WordNet; this
module needs neither (no nltk data ships here). Its lemmatizer is WordNet's
noun rules (``morphy``'s suffix substitutions and a few irregular plurals)
constrained to the synonym words: a caption word that is a synonym word
stays, otherwise the first rule form that is one replaces it, otherwise it
stays. Plural and singular synonyms always name the same class, so the
labels differ from the reference's only where WordNet lemmatizes a word
into a synonym by a rule this module lacks (verbs: "ran" -> "run"), or where
its POS tagger sends a noun through the verb rules. Synonyms are tried
longest first (the reference iterates Python sets, whose order varies).
"""
import re
from typing import Dict, List, Optional, Sequence

__all__ = ['CaptionLabeler', 'tokenize_caption']

# WordNet morphy's noun substitutions (nltk ``WordNetCorpusReader.
# MORPHOLOGICAL_SUBSTITUTIONS[NOUN]``), in its order
_NOUN_RULES = (('s', ''), ('ses', 's'), ('ves', 'f'), ('xes', 'x'),
               ('zes', 'z'), ('ches', 'ch'), ('shes', 'sh'), ('men', 'man'),
               ('ies', 'y'))
# a few of WordNet's noun exceptions (noun.exc) that no rule reaches
_IRREGULAR = {'men': 'man', 'women': 'woman', 'knives': 'knife',
              'wives': 'wife', 'lives': 'life', 'mice': 'mouse',
              'teeth': 'tooth', 'feet': 'foot', 'geese': 'goose',
              'children': 'child', 'oxen': 'ox'}
# words, numbers (hyphenated kept whole, as nltk's word_tokenize), the
# clitics nltk splits off, any other non-space character
_TOKEN = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*|'s|n't|\S")


def tokenize_caption(caption: str) -> List[str]:
    """Lower-cased tokens of a caption (nltk ``word_tokenize``-like).

    Args:
        caption (str): The caption.

    Returns:
        list[str]: Its tokens.
    """
    return _TOKEN.findall(caption.lower())


class CaptionLabeler:
    """Label captions with the classes their words name.

    Args:
        synonyms (Sequence[Sequence[str]]): Per class in label order, the
            words naming it (its name first; underscores read as spaces).
    """

    def __init__(self, synonyms: Sequence[Sequence[str]]) -> None:
        if not synonyms:
            raise ValueError('CaptionLabeler needs at least one class')
        self.num_classes = len(synonyms)
        index: Dict[str, int] = {}
        compound, single = set(), set()
        for idx, words in enumerate(synonyms):
            if not words:
                raise ValueError(f'class {idx} has no synonym')
            for word in words:
                word = ' '.join(str(word).replace('_', ' ').lower().split())
                # a word listed for two classes names the later one, as
                # the reference's dict
                index[word] = idx
                if ' ' in word:
                    compound.add(word)
                    joined = word.replace(' ', '')
                    index[joined] = idx
                    single.add(joined)
                else:
                    single.add(word)
        self.index = index
        # longest first: a synonym inside a longer one never pre-empts it
        self.compound = sorted(compound, key=lambda w: (-len(w), w))
        self.single = sorted(single, key=lambda w: (-len(w), w))
        self.vocabulary = {w for name in index for w in name.split()}

    def lemmatize(self, word: str) -> str:
        """The word's noun lemma among the synonym words (or the word).

        Args:
            word (str): A lower-case token.

        Returns:
            str: The lemma.
        """
        if word in self.vocabulary:
            return word
        forms = [_IRREGULAR[word]] if word in _IRREGULAR else []
        forms += [word[:-len(old)] + new for old, new in _NOUN_RULES
                  if word.endswith(old) and len(word) > len(old)]
        for form in forms:
            if form in self.vocabulary:
                return form
        return word

    def labels(self, caption: str,
               max_words: Optional[int] = None) -> Optional[List[int]]:
        """0 / 1 per class: whether the caption names it.

        Args:
            caption (str): The caption.
            max_words (int, optional): Read only its first this many tokens
                (the reference's Open Images captions: 77).

        Returns:
            list[int] | None: The label vector, None when no class is named
            (the reference drops such captions).
        """
        tokens = tokenize_caption(caption)[:max_words]
        text = ' ' + ' '.join(self.lemmatize(t) for t in tokens) + ' '
        labels = [0] * self.num_classes
        found = False
        for names in (self.compound, self.single):
            for name in names:
                padded = ' ' + name + ' '
                if padded in text:
                    labels[self.index[name]] = 1
                    found = True
                    text = text.replace(padded, ' ')
        return labels if found else None
