"""A config's dataset metadata (class split), without reading its images."""
from typing import Union

from mmengine.config import Config

__all__ = ['dataset_meta_from_config']


def dataset_meta_from_config(config: Union[str, Config],
                             split: str = 'test') -> dict:
    """Build a config's dataset lazily and return its ``metainfo``.

    Args:
        config (str | Config): The config file or object.
        split (str): Whose dataloader: ``'test'``, ``'val'`` or ``'train'``.

    Returns:
        dict: ``classes``, ``seen_classes``, ``unseen_classes`` and the other
        metainfo fields of the dataset.
    """
    from mmengine.registry import DefaultScope

    from granzsl_mm.registry import DATASETS, import_registered_modules
    import_registered_modules()
    cfg = Config.fromfile(config) if isinstance(config, str) else config
    dataset_cfg = cfg[f'{split}_dataloader'].dataset.copy()
    dataset_cfg['lazy_init'] = True
    with DefaultScope.overwrite_default_scope('granzsl_mm'):
        return dict(DATASETS.build(dataset_cfg).metainfo)
