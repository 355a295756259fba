"""text of granzsl_mm."""
from .class_vocabulary import ClassVocabulary, read_class_names
from .clip_text_encoder import CLIPTextEncoder
from .templates import OPENAI_IMAGENET_TEMPLATES, SINGLE_TEMPLATE, get_templates
from .text_feature_cache import (
                                 USER_CACHE_DIR,
                                 TextFeatureCache,
                                 default_cache_dir,
                                 hash_module_weights,
                                 set_default_cache_dir,
)
from .vocabulary_file import (
                              VOCABULARY_FORMAT,
                              load_vocabulary_file,
                              save_vocabulary_file,
)

__all__: list = [
    'CLIPTextEncoder', 'OPENAI_IMAGENET_TEMPLATES', 'SINGLE_TEMPLATE',
    'get_templates', 'TextFeatureCache', 'hash_module_weights',
    'set_default_cache_dir', 'default_cache_dir', 'USER_CACHE_DIR',
    'VOCABULARY_FORMAT', 'load_vocabulary_file', 'save_vocabulary_file',
    'ClassVocabulary', 'read_class_names'
]
