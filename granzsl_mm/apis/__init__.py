"""apis of granzsl_mm."""
from .feature_cache import (
                            FeatureCache,
                            cached_scores,
                            evaluate_cached,
                            extract_features,
)
from .model_zoo import get_model, list_models

__all__: list = ['get_model', 'list_models', 'FeatureCache',
                 'extract_features', 'cached_scores', 'evaluate_cached']

from .inferencer import MultiLabelInferencer, as_zero_shot, list_images  # noqa: E402
from .vocabularies import named_vocabularies, read_vocabulary  # noqa: E402

__all__ += ['MultiLabelInferencer', 'as_zero_shot', 'list_images',
            'named_vocabularies', 'read_vocabulary']

from .pseudo_labels import generate_pseudo_labels  # noqa: E402

__all__ += ['generate_pseudo_labels']

from .chance import chance_map, expected_random_ap  # noqa: E402
from .world_demo import run_world_demo  # noqa: E402

__all__ += ['chance_map', 'expected_random_ap', 'run_world_demo']
