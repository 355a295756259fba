"""backbones of granzsl_mm."""
from .open_clip_backbone import (
                                 OpenCLIPBackbone,
                                 clearclip_attention,
                                 interpolate_pos_embed,
)
from .open_clip_builder import PRECISIONS, build_open_clip, register_model_cfg

__all__: list = [
    'OpenCLIPBackbone', 'build_open_clip', 'register_model_cfg', 'PRECISIONS',
    'clearclip_attention', 'interpolate_pos_embed'
]
