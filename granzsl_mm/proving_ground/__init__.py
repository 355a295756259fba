"""The proving ground: a synthetic world with hidden unseen classes, its tiny
CLIP, and the demo pipeline that runs every method on it (``make demo``).

The top wing: it imports ``apis``, ``engine``, ``datasets``, ``evaluation``
and ``models``; nothing in the package imports it.
"""
from .pipeline import pretrain_tiny_clip, run_world_demo
from .world import DEFAULT_WORLD, WorldSpec, world_classes
from .world_io import build_synthetic_world, load_world_meta

__all__ = ['run_world_demo', 'pretrain_tiny_clip', 'DEFAULT_WORLD',
           'WorldSpec', 'world_classes', 'build_synthetic_world',
           'load_world_meta']
