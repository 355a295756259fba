"""Shared fixtures: a small synthetic world in the COCO-ZSL formats. With
``--fail-on-repo-writes`` (``make test``, ``make test-quick``) a run that
leaves files in the checkout fails: tests write under tmp_path."""
import importlib.util
import os.path as osp
import sys

import pytest

from tests.fixtures.repo_guard import left_behind, snapshot

# Every tool's first import is `_cli` from its own folder (`python tools/x.py`
# puts that folder on sys.path); tests that run or load a tool in this
# process find it here, without putting tools/ (test.py, ...) on sys.path.
_CLI = osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))), 'tools',
                '_cli.py')
if '_cli' not in sys.modules:
    _spec = importlib.util.spec_from_file_location('_cli', _CLI)
    sys.modules['_cli'] = importlib.util.module_from_spec(_spec)
    _spec.loader.exec_module(sys.modules['_cli'])

_CHECKOUT_BEFORE = pytest.StashKey[set]()


def pytest_addoption(parser):
    # opt-in: whatever else writes into the checkout meanwhile (make demo,
    # an editor) would fail the run too
    parser.addoption('--fail-on-repo-writes', action='store_true',
                     help='fail the run if it leaves new files in the '
                     'repository (git status --ignored shows them)')


def pytest_sessionstart(session):
    if session.config.getoption('fail_on_repo_writes'):
        session.config.stash[_CHECKOUT_BEFORE] = snapshot()


def pytest_sessionfinish(session, exitstatus):
    before = session.config.stash.get(_CHECKOUT_BEFORE, None)
    if before is None or session.config.option.collectonly or hasattr(
            session.config, 'workerinput'):  # a pytest-xdist worker
        return
    written = left_behind(before)
    if not written:
        return
    reporter = session.config.pluginmanager.get_plugin('terminalreporter')
    if reporter is not None:
        reporter.write_line('')
        reporter.write_sep('=', 'new in the repository since the run began '
                           '(tests write under tmp_path)', red=True)
        for path in written:
            reporter.write_line(path)
    if session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


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
