"""text of granzsl_mm."""
from .class_vocabulary import (
    VOCABULARY_FORMAT,
    ClassVocabulary,
    load_vocabulary_file,
    save_vocabulary_file,
)
from .clip_text_encoder import CLIPTextEncoder
from .text_feature_cache import (
                                 USER_CACHE_DIR,
                                 TextFeatureCache,
                                 default_cache_dir,
                                 hash_module_weights,
                                 set_default_cache_dir,
)

__all__: list = [
    'CLIPTextEncoder', 'TextFeatureCache', 'hash_module_weights',
    'set_default_cache_dir', 'default_cache_dir', 'USER_CACHE_DIR',
    'VOCABULARY_FORMAT', 'load_vocabulary_file', 'save_vocabulary_file',
    'ClassVocabulary'
]
