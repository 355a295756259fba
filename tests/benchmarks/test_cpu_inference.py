"""benchmarks/cpu_inference.py on a tiny tower: every path runs, the
scoring paths agree (the script refuses otherwise), the table is printed."""
import importlib.util
import os.path as osp

import pytest

from tests.fixtures.run_tools import REPO

SCRIPT = osp.join(REPO, 'benchmarks', 'cpu_inference.py')


@pytest.mark.slow
def test_every_path_runs_and_agrees(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv('TMPDIR', str(tmp_path))
    spec = importlib.util.spec_from_file_location('cpu_inference', SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    fig = mod.main(['--arch', 'TinyCLIP-test', '--images', '4', '--batch',
                    '2', '--snippets', 'both'])
    out = capsys.readouterr().out
    for views in ('1 view', '1 + 13 snippets'):
        assert set(fig[views]['seconds']) == {
            'tool', 'inferencer', 'overlapped', 'backbone', 'onnxruntime'}
        assert all(s > 0 for s in fig[views]['seconds'].values())
        assert fig[views]['gflop_per_image'] > 0
    assert fig['1 + 13 snippets']['gflop_per_image'] > \
        13 * fig['1 view']['gflop_per_image']
    assert out.count('overlapped vs inferencer: max |cosine diff|') == 2
    assert out.count('onnxruntime vs inferencer: max |cosine diff|') == 2
    assert out.count('tool vs inferencer: same top-5 labels') == 2
    assert 'sgemm' in out and 'of backbone' in out
    assert out.count('time split of the inferencer, CPU ms per image: '
                     'decode ') == 2
