"""Test-time aggregation: GranZSL snippets (functional core + TTA model)."""
from .snippet_tta import SnippetTTAModel
from .snippets import (
    SCORE_MODES,
    aggregate_snippets,
    cut_snippets,
    image_scores,
    local_scores,
    num_snippets,
    snippet_boxes,
)

__all__ = [
    'SnippetTTAModel', 'snippet_boxes', 'num_snippets', 'cut_snippets',
    'local_scores', 'image_scores', 'aggregate_snippets', 'SCORE_MODES'
]
