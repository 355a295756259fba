"""Per-source thresholds of the rankings (learned names vs prompt words)."""
import pytest
import torch

from granzsl_mm.apis.score_ranking import (
    parse_threshold,
    rank_by_source,
    rank_merged,
    source_thresholds,
    standouts,
)

# learned names near 10, prompt words near -15 (GranZSL with typed words)
ROW = torch.tensor([11.0, 4.0, 9.0, 2.0, -13.0, -15.0, -14.5, -16.0])
WORDS = ['red circle', 'blue square', 'green', 'yellow', 'cat', 'dog',
         'car', 'tree']
SOURCES = ['learned'] * 4 + ['prompt'] * 4


def test_a_learned_threshold_keeps_prompt_words_apart():
    out = rank_by_source(ROW, WORDS, SOURCES,
                         threshold=dict(learned=5.0, prompt=None))
    assert out['learned']['labels'] == ['red circle', 'green']
    assert out['prompt']['labels'] == ['cat', 'car', 'dog', 'tree']
    # one number for every source cuts each at that number
    out = rank_by_source(ROW, WORDS, SOURCES, threshold=5.0)
    assert out['prompt']['labels'] == []


def test_auto_is_mean_plus_one_std_of_the_source_on_the_image():
    learned = ROW[:4].double()
    prompt = ROW[4:].double()
    want = {'learned': float(learned.mean() + learned.std(unbiased=False)),
            'prompt': float(prompt.mean() + prompt.std(unbiased=False))}
    got = source_thresholds(ROW, SOURCES, 'auto')
    assert got == pytest.approx(want)
    assert standouts(ROW, SOURCES) == pytest.approx(want)
    out = rank_by_source(ROW, WORDS, SOURCES, topk=5,
                         threshold=dict(learned='auto', prompt='auto'))
    # learned: mean 6.5, std 3.64 -> 10.14; prompt: mean -14.625 -> -13.6
    assert out == dict(learned=dict(labels=['red circle'], scores=[11.0]),
                       prompt=dict(labels=['cat'], scores=[-13.0]))


def test_merged_ranking_cuts_each_word_by_its_source():
    order = rank_merged(ROW, SOURCES, topk=3,
                        threshold=dict(learned=10.0, prompt=-14.6))
    assert [WORDS[i] for i in order] == ['red circle', 'cat', 'car']
    assert rank_merged(ROW, SOURCES, topk=2) == [0, 2]


@pytest.mark.parametrize('text,value', [
    ('5', 5.0), (' -14.5', -14.5), ('AUTO', 'auto'), ('', None),
    ('none', None), (None, None)])
def test_parse_threshold(text, value):
    assert parse_threshold(text) == value


def test_parse_threshold_refuses_words():
    with pytest.raises(ValueError, match="'auto'"):
        parse_threshold('high')
