"""apis of granzsl_mm."""
from .dataset_meta import dataset_meta_from_config
from .feature_cache import (
                            FeatureCache,
                            cached_scores,
                            evaluate_cached,
                            extract_features,
)
from .model_zoo import get_model, list_models

__all__: list = ['dataset_meta_from_config', 'get_model', 'list_models', 'FeatureCache',
                 'extract_features', 'cached_scores', 'evaluate_cached']

from .inferencer import MultiLabelInferencer, as_zero_shot, list_images  # noqa: E402
from .vocabularies import named_vocabularies, read_vocabulary  # noqa: E402

__all__ += ['MultiLabelInferencer', 'as_zero_shot', 'list_images',
            'named_vocabularies', 'read_vocabulary']

from .pseudo_labels import generate_pseudo_labels  # noqa: E402

__all__ += ['generate_pseudo_labels']
