"""The proving ground: synthetic worlds with hidden unseen classes, their
tiny CLIPs, and the pipelines that run every method on them (``make demo``:
one world; ``make evidence``: several, with intervals over seeds).

The top wing: it imports ``apis``, ``engine``, ``datasets``, ``evaluation``
and ``models``; nothing in the package imports it.
"""
from .evidence import run_evidence, seed_plan
from .pipeline import pretrain_tiny_clip, run_world_demo
from .world import DEFAULT_WORLD, WORLD_V2, WORLDS, WorldSpec, get_world, world_classes
from .world_io import build_synthetic_world, load_world_meta

__all__ = ['run_world_demo', 'run_evidence', 'seed_plan', 'pretrain_tiny_clip',
           'DEFAULT_WORLD', 'WORLD_V2', 'WORLDS', 'get_world', 'WorldSpec',
           'world_classes', 'build_synthetic_world', 'load_world_meta']
