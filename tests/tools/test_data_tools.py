"""Tools that write a data folder check their arguments first and never
replace a world they were not asked to replace."""
import os
import os.path as osp

import pytest

from granzsl_mm.proving_ground.world_io import build_synthetic_world
from tests.fixtures.run_tools import run_tool_in_process


def _stamps(root):
    return {osp.join(d, f): os.stat(osp.join(d, f)).st_mtime_ns
            for d, _, files in os.walk(root) for f in files}


@pytest.fixture
def own_world(tmp_path):
    root = str(tmp_path / 'demo')
    build_synthetic_world(root, num_train=12, num_test=8, seed=5)
    return root


def test_a_world_with_other_settings_is_not_replaced(own_world, tmp_path):
    before = _stamps(own_world)
    with pytest.raises(FileExistsError, match=r'other settings \(.*num_train '
                       r'12 -> 16.*--overwrite'):
        build_synthetic_world(own_world, num_train=16, num_test=8, seed=5)
    stranger = tmp_path / 'photos'
    stranger.mkdir()
    (stranger / 'holiday.jpg').write_bytes(b'mine')
    with pytest.raises(FileExistsError, match='holds no synthetic world'):
        build_synthetic_world(str(stranger), num_train=12, num_test=8)
    assert _stamps(own_world) == before
    assert (stranger / 'holiday.jpg').read_bytes() == b'mine'
    meta = build_synthetic_world(own_world, num_train=16, num_test=8, seed=5,
                                 overwrite=True)
    assert meta['counts']['train']['images'] == 16


def test_pretrain_tool_checks_arguments_before_touching_data(
        own_world, tmp_path, capsys):
    before = _stamps(own_world)
    code, err = run_tool_in_process(
        'pretrain_tiny_clip.py', ['--data-root', own_world, '--max-iters',
                                  '2', '--work-dir', str(tmp_path / 'w')],
        capsys)
    assert code == 2 and 'must be >= 4, got 2' in err
    code, err = run_tool_in_process(
        'pretrain_tiny_clip.py', [str(tmp_path / 'nope.py'), '--data-root',
                                  own_world], capsys)
    assert code == 2 and 'config not found' in err
    code, err = run_tool_in_process(
        'make_demo_data.py', ['--out-dir', own_world, '--num-train', '20'],
        capsys)
    assert code == 2 and 'other settings' in err and 'Traceback' not in err
    assert _stamps(own_world) == before
