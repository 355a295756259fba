"""The proving ground: synthetic worlds with hidden unseen classes, their
tiny CLIPs, and the one runner that runs every method on them
(``make demo``: one world; ``make evidence``: several, with intervals over
seeds).

The top wing: it imports ``apis``, ``engine``, ``datasets``, ``evaluation``
and ``models``; nothing in the package imports it.
"""
from .pipeline import (
           WORLD_SETTINGS,
           run_proving_ground,
           run_world,
           seed_plan,
           world_settings,
)
from .report import report_evidence
from .stages import pretrain_tiny_clip
from .world import DEFAULT_WORLD, WORLD_V2, WORLDS, WorldSpec, get_world, world_classes
from .world_io import build_synthetic_world, load_world_meta

__all__ = ['run_proving_ground', 'run_world', 'world_settings', 'seed_plan',
           'WORLD_SETTINGS', 'report_evidence', 'pretrain_tiny_clip',
           'DEFAULT_WORLD', 'WORLD_V2', 'WORLDS', 'get_world', 'WorldSpec',
           'world_classes', 'build_synthetic_world', 'load_world_meta']
