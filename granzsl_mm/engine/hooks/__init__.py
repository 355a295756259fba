"""Hooks of granzsl_mm."""
from .asymmetric_pseudo_label_hook import AsymmetricPseudoLabelHook
from .atomic_checkpoint_hook import AtomicCheckpointHook
from .checkpoint_fit_hook import CheckpointFitHook
from .class_order_hook import ClassOrderError, ClassOrderHook
from .export_open_clip_hook import ExportOpenCLIPHook
from .original_image_visualization_hook import OriginalImageVisualizationHook
from .progress_bar_hook import ProgressBarHook
from .rng_state_hook import RNGStateHook, get_rng_state, set_rng_state
from .safe_form_hook import SafeFormHook

__all__ = ['RNGStateHook', 'get_rng_state', 'set_rng_state',
           'ExportOpenCLIPHook', 'ProgressBarHook', 'SafeFormHook',
           'AtomicCheckpointHook', 'AsymmetricPseudoLabelHook',
           'OriginalImageVisualizationHook', 'ClassOrderHook',
           'ClassOrderError', 'CheckpointFitHook']
