"""Shared fixtures: a small synthetic world in the COCO-ZSL formats."""
import pytest


@pytest.fixture(scope='session')
def small_demo_world(tmp_path_factory) -> str:
    """A small proving-ground world (24 test images), built once per run.

    Tests that need demo-format data use it instead of ``data/demo``, which
    exists only after ``make demo`` (never on a clean CI clone).
    """
    from granzsl_mm.proving_ground.world_io import build_synthetic_world
    root = str(tmp_path_factory.mktemp('demo_world'))
    build_synthetic_world(root, num_train=30, num_test=24, seed=3)
    return root
