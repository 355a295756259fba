"""Test-time aggregation: GranZSL snippets (functional core + TTA model).

The snippet functions (torch only) load eagerly; the mmengine TTA model
:class:`SnippetTTAModel` (and :class:`GranZSLSnippetVal`, GranZSL validating
with snippets) on first use.
"""
from granzsl_mm.utils.lazy import attach

from .snippets import (
    RESIZE_MODES,
    SCORE_MODES,
    aggregate_snippets,
    cut_snippets,
    image_scores,
    local_scores,
    num_snippets,
    snippet_boxes,
)
from .view_chunks import VIEW_CHUNK_CANDIDATES, ViewChunker

__all__ = [
    'SnippetTTAModel', 'GranZSLSnippetVal', 'snippet_predict',
    'snippet_boxes', 'num_snippets', 'cut_snippets',
    'local_scores', 'image_scores', 'aggregate_snippets', 'SCORE_MODES',
    'RESIZE_MODES', 'ViewChunker', 'VIEW_CHUNK_CANDIDATES'
]

__getattr__, __dir__ = attach(
    __name__, submodules=('snippet_tta', 'snippets'),
    attributes={'SnippetTTAModel': '.snippet_tta',
                'GranZSLSnippetVal': '.snippet_tta',
                'snippet_predict': '.snippet_tta'})
