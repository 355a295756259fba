"""backbones of granzsl_mm."""
from .open_clip_backbone import (
                                 OpenCLIPBackbone,
                                 clearclip_attention,
                                 interpolate_pos_embed,
)
from .open_clip_builder import PRECISIONS, build_open_clip, register_model_cfg
from .siglip_tower import SigLIPBackbone
from .tower_weights import (
                            RANDOM_TOWER,
                            MissingClipWeightsError,
                            has_random_tower,
                            tower_weights_line,
)

__all__: list = [
    'OpenCLIPBackbone', 'build_open_clip', 'register_model_cfg', 'PRECISIONS',
    'clearclip_attention', 'interpolate_pos_embed', 'RANDOM_TOWER',
    'MissingClipWeightsError', 'has_random_tower', 'tower_weights_line',
    'SigLIPBackbone'
]
