"""Interactive web demo (``pip install -e .[demo]``; run
``python tools/demo/web_demo.py``).

Nothing in the core package imports this sub-package, and only
:func:`build_web_demo` imports gradio: the inputs, session and rendering
parts work (and are tested) without it.
"""
from .access import DEMO_OPTION_KEYS, DemoAccess
from .app import build_web_demo
from .inputs import (
    LABEL_BATCH_SIZE,
    MAX_LABELS,
    VOCABULARY_PRESETS,
    DemoInputError,
    discover_models,
    label_batches,
    latest_checkpoint,
    parse_cfg_options,
    parse_vocabulary,
    preset_vocabulary,
    read_images,
)
from .render import overlay_score_map, ranking_html
from .session import DemoOutcome, DemoSession, check_checkpoint
from .uploads import ImageUploadsOnly, looks_like_image, refused_uploads

__all__ = ['build_web_demo', 'DEMO_OPTION_KEYS', 'DemoAccess',
           'ImageUploadsOnly', 'looks_like_image', 'refused_uploads',
           'DemoInputError', 'DemoOutcome', 'DemoSession',
           'LABEL_BATCH_SIZE', 'MAX_LABELS', 'VOCABULARY_PRESETS',
           'check_checkpoint', 'discover_models', 'label_batches',
           'latest_checkpoint', 'overlay_score_map', 'parse_cfg_options',
           'parse_vocabulary', 'preset_vocabulary', 'ranking_html',
           'read_images']
