"""apis of granzsl_mm."""
from .clip_models import list_clip_models
from .dataset_meta import dataset_meta_from_config
from .feature_cache import (
                            FeatureCache,
                            FeatureCacheError,
                            cached_scores,
                            evaluate_cached,
                            extract_features,
)
from .model_zoo import get_model, list_models

__all__: list = ['dataset_meta_from_config', 'get_model', 'list_models',
                 'list_clip_models', 'FeatureCache',
                 'FeatureCacheError', 'extract_features', 'cached_scores',
                 'evaluate_cached']

from .inferencer import MultiLabelInferencer, list_images  # noqa: E402
from .vocabularies import named_vocabularies, read_vocabulary  # noqa: E402

__all__ += ['MultiLabelInferencer', 'list_images',
            'named_vocabularies', 'read_vocabulary']

from .pseudo_labels import (  # noqa: E402
    clip_class_similarity,
    clip_pseudo_labels,
    generate_pseudo_labels,
)

__all__ += ['clip_class_similarity', 'clip_pseudo_labels',
            'generate_pseudo_labels']
