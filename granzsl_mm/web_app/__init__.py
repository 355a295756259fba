"""Interactive web app (``pip install -e .[web]``; run
``python tools/web_app.py``).

Nothing in the core package imports this sub-package, and only
:mod:`.app`'s functions (:func:`build_web_app`, :func:`launch_web_app`,
:func:`http_app`) import gradio: the inputs, session and rendering
parts work (and are tested) without it.
"""
from .access import APP_OPTION_KEYS, AppAccess
from .app import build_web_app, http_app, launch_web_app
from .charts import overlay_score_map, ranking_html
from .inputs import (
    LABEL_BATCH_SIZE,
    MAX_LABELS,
    VOCABULARY_PRESETS,
    AppInputError,
    discover_models,
    label_batches,
    latest_checkpoint,
    parse_cfg_options,
    parse_vocabulary,
    preset_vocabulary,
    read_images,
)
from .session import AppOutcome, AppSession, check_checkpoint
from .uploads import (
    UploadDoor,
    UploadLimits,
    UploadRefused,
    check_upload_body,
    looks_like_image,
    stored_upload_name,
)

__all__ = ['build_web_app', 'http_app', 'launch_web_app', 'APP_OPTION_KEYS',
           'AppAccess',
           'UploadDoor', 'UploadLimits', 'UploadRefused', 'check_upload_body',
           'looks_like_image', 'stored_upload_name',
           'AppInputError', 'AppOutcome', 'AppSession',
           'LABEL_BATCH_SIZE', 'MAX_LABELS', 'VOCABULARY_PRESETS',
           'check_checkpoint', 'discover_models', 'label_batches',
           'latest_checkpoint', 'overlay_score_map', 'parse_cfg_options',
           'parse_vocabulary', 'preset_vocabulary', 'ranking_html',
           'read_images']
