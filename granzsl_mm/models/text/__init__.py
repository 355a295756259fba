"""text of granzsl_mm."""
from .clip_text_encoder import CLIPTextEncoder
from .templates import OPENAI_IMAGENET_TEMPLATES, SINGLE_TEMPLATE, get_templates
from .text_feature_cache import TextFeatureCache, hash_module_weights

__all__: list = [
    'CLIPTextEncoder', 'OPENAI_IMAGENET_TEMPLATES', 'SINGLE_TEMPLATE',
    'get_templates', 'TextFeatureCache', 'hash_module_weights'
]
