"""benchmarks/openimages_eval.py: inputs as stated, paths agree."""
import importlib.util
import os.path as osp
import sys

import numpy as np
import pytest

from tests.fixtures.run_tools import REPO, run

SCRIPT = osp.join(REPO, 'benchmarks', 'openimages_eval.py')


def _module():
    spec = importlib.util.spec_from_file_location('openimages_eval', SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_inputs_have_the_stated_density():
    mod = _module()
    got = list(mod.batches(1100, 500, pos=5, neg=4))
    assert [a for a, _, _ in got] == [0, 512, 1024]
    targets = np.concatenate([t for _, _, t in got])
    assert targets.shape == (1100, 500)
    assert ((targets == 1).sum(1) == 5).all()  # distinct classes
    assert ((targets == 0).sum(1) == 4).all()
    again = np.concatenate([t for _, _, t in mod.batches(1100, 500, 5, 4)])
    np.testing.assert_array_equal(targets, again)  # deterministic


@pytest.mark.slow
def test_streaming_equals_loop_small():
    proc = run([sys.executable, SCRIPT, '--rows', '700', '--classes', '450',
                '--paths', 'generate', 'streaming', 'streaming_file',
                'openimages', 'loop'], timeout=240)
    out = proc.stdout
    assert 'generate       rows=    700' in out
    assert 'loop / streaming: wall x' in out and 'net of generating' in out
    assert 'in the evaluator x' in out and 'memory bandwidth' in out
    assert 'streaming_file / streaming: wall x' in out
    assert 'openimages / streaming: wall x' in out
    assert 'zsl/weighted_mAP=' in out  # BiAM's protocol ran
    assert 'max |streaming - loop| over the metrics: 0.00e+00' in out
    assert 'max |streaming_file - loop| over the metrics: 0.00e+00' in out
