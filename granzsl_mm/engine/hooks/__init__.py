"""Hooks of granzsl_mm."""
from .rng_state_hook import RNGStateHook, get_rng_state, set_rng_state

__all__ = ['RNGStateHook', 'get_rng_state', 'set_rng_state']

from .export_open_clip_hook import ExportOpenCLIPHook  # noqa: E402

__all__ += ['ExportOpenCLIPHook']

from .progress_bar_hook import ProgressBarHook  # noqa: E402

__all__ += ['ProgressBarHook']
