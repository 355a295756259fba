"""Shrink any paper config to a tiny CPU run on the demo data (tests only).

``tiny_override(cfg)`` walks a loaded mmengine ``Config`` and rewrites, in
place: every ``OpenCLIPBackbone`` / ``CLIPTextEncoder`` (and any other dict
with ``pretrained='openai'``) to the random TinyCLIP-test architecture with
``pretrained=None``; every dataset's ``data_root`` (and the path fields named
in ``paths``) to the demo data; resize/crop sizes of 224 to the tiny image
size; every dataloader to a small batch, ``num_workers=0``, no persistent
workers; the training loop to a few epochs (or iterations) on a few samples.
It is generic on purpose: the GranZSL and SigRL config tests share it.
"""
import copy
import inspect
import json
import os.path as osp
from typing import Any, Dict, Optional

from mmengine.config import Config

__all__ = ['TINY_ARCH', 'TINY_MODEL_CFG_PATH', 'tiny_model_cfg', 'tiny_override',
           'DEMO_ROOT']

TINY_ARCH = 'TinyCLIP-test'
TINY_MODEL_CFG_PATH = osp.join(
    osp.dirname(__file__), '..', 'granzsl_mm', 'models', 'backbones',
    'model_configs', 'TinyCLIP-test.json')
DEMO_ROOT = 'data/demo'
CLIP_TYPES = ('OpenCLIPBackbone', 'CLIPTextEncoder')
_SIZE_KEYS = ('scale', 'crop_size', 'size', 'img_size', 'image_size')
_FULL_SIZES = (224, 256, 240, 288, 336, 384, 448)
_LOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')


def tiny_model_cfg() -> dict:
    """The TinyCLIP-test open_clip architecture (embed 32, 32 px images)."""
    with open(TINY_MODEL_CFG_PATH, encoding='utf-8') as f:
        return json.load(f)


def _type_name(node: dict) -> str:
    typ = node.get('type', '')
    return typ.split('.')[-1] if isinstance(typ, str) else getattr(
        typ, '__name__', '')


def _shrink_size(value: Any, image_size: int) -> Any:
    if isinstance(value, int) and value in _FULL_SIZES:
        return image_size
    if isinstance(value, (tuple, list)) and value and all(
            isinstance(v, int) and v in _FULL_SIZES for v in value):
        return type(value)(image_size for _ in value)
    return value


def _walk(node: Any, fn) -> None:
    if isinstance(node, dict):
        fn(node)
        for value in node.values():
            _walk(value, fn)
    elif isinstance(node, (list, tuple)):
        for value in node:
            _walk(value, fn)


def _accepts(dataset_cfg: dict, arg: str) -> bool:
    """Whether a dataset type takes ``arg`` (mmengine ``BaseDataset``s take
    ``indices`` through ``**kwargs``)."""
    from mmengine.dataset import BaseDataset

    from granzsl_mm.registry import DATASETS
    try:
        cls = DATASETS.get(dataset_cfg.get('type'))
    except Exception:  # unknown / lazily-registered type: leave it alone
        return False
    if cls is None:
        return False
    if arg == 'indices' and isinstance(cls, type) and issubclass(
            cls, BaseDataset):
        return True
    return arg in inspect.signature(cls).parameters


def tiny_override(cfg: Config,
                  data_root: str = DEMO_ROOT,
                  paths: Optional[Dict[str, Any]] = None,
                  work_dir: Optional[str] = None,
                  image_size: int = 32,
                  batch_size: int = 4,
                  num_samples: Optional[int] = 16,
                  max_epochs: int = 1,
                  max_iters: int = 2,
                  extra: Optional[dict] = None) -> Config:
    """Rewrite a paper config (in place) into a tiny, offline CPU run.

    Args:
        cfg (Config): A loaded config.
        data_root (str): Root of the demo data.
        paths (dict, optional): Dataset fields to set wherever they occur,
            e.g. ``{'ann_file': 'annotations/test.json',
            'description_file': 'data/demo/descriptions.json'}``. A value may
            also be a dict keyed by dataloader name (``'train_dataloader'``
            ...) for fields that differ between loaders.
        work_dir (str, optional): Work directory.
        image_size (int): Side that replaces 224-style resize/crop sizes
            (TinyCLIP-test takes 32 px images).
        batch_size (int): Batch size of every dataloader (``drop_last``
            with the papers' 512 would otherwise leave no batch).
        num_samples (int, optional): Keep only this many training samples
            (through the dataset's ``indices`` argument, when it has one).
        max_epochs (int): Epochs of an epoch-based loop.
        max_iters (int): Iterations of an iteration-based loop.
        extra (dict, optional): Merged last (``cfg.merge_from_dict``).

    Returns:
        Config: ``cfg``, modified.
    """
    paths = dict(paths or {})
    tiny = tiny_model_cfg()

    def fix_model(node: dict) -> None:
        if _type_name(node) in CLIP_TYPES:
            node['arch'] = TINY_ARCH
            node['model_cfg'] = copy.deepcopy(tiny)
            node['pretrained'] = None
        elif node.get('pretrained') == 'openai':
            node['pretrained'] = None
        if 'Resize' in _type_name(node) or 'Crop' in _type_name(node):
            for key in _SIZE_KEYS:
                if key in node:
                    node[key] = _shrink_size(node[key], image_size)

    for key in ('model', 'tta_model', 'tta_pipeline', 'train_pipeline',
                'test_pipeline', 'val_pipeline'):
        if cfg.get(key) is not None:
            _walk(cfg[key], fix_model)

    for loader_name in _LOADERS:
        loader = cfg.get(loader_name)
        if not isinstance(loader, dict):
            continue
        loader['batch_size'] = batch_size
        loader['num_workers'] = 0
        loader['persistent_workers'] = False
        loader['pin_memory'] = False

        def fix_dataset(node: dict, loader_name: str = loader_name) -> None:
            fix_model(node)  # pipelines inside datasets
            if 'data_root' in node:
                node['data_root'] = data_root
            for field, value in paths.items():
                if isinstance(value, dict):
                    if loader_name not in value:
                        continue
                    value = value[loader_name]
                if field in node and 'type' in node:
                    node[field] = value

        _walk(loader.get('dataset'), fix_dataset)
        dataset = loader.get('dataset')
        if (loader_name == 'train_dataloader' and num_samples
                and isinstance(dataset, dict)
                and _accepts(dataset, 'indices')):
            dataset['indices'] = num_samples

    train_cfg = cfg.get('train_cfg')
    if isinstance(train_cfg, dict):
        if train_cfg.get('by_epoch', False) or 'max_epochs' in train_cfg:
            train_cfg['max_epochs'] = max_epochs
            if 'val_interval' in train_cfg:
                train_cfg['val_interval'] = 1
        else:
            train_cfg['max_iters'] = max_iters
            if 'val_interval' in train_cfg:
                train_cfg['val_interval'] = max_iters
    hooks = cfg.get('default_hooks')
    if isinstance(hooks, dict) and isinstance(hooks.get('logger'), dict):
        hooks['logger']['interval'] = 1
    if work_dir is not None:
        cfg.work_dir = work_dir
    cfg.load_from = None
    cfg.resume = False
    if extra:
        cfg.merge_from_dict(extra)
    return cfg

