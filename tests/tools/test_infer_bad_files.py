"""tools/infer.py keeps going past unreadable files,
reports each (path and reason), writes the partial --out, exits 1."""
import json
import os
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

pytestmark = pytest.mark.slow

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(REPO, 'tests', 'fixtures', 'configs',
                  'clip_zeroshot_tiny.py')


def test_infer_reports_bad_files_and_keeps_going(tmp_path):
    folder = tmp_path / 'imgs'
    folder.mkdir()
    rng = np.random.default_rng(0)
    for name in ('a.png', 'c.png', 'e.png'):
        Image.fromarray(rng.integers(0, 256, (32, 32, 3), np.uint8)).save(
            folder / name)
    (folder / 'b.png').write_bytes(b'\x89PNG\r\n\x1a\n not really')
    (folder / 'd.jpg').write_bytes(b'')  # zero bytes
    out = str(tmp_path / 'res.json')
    env = dict(os.environ, PYTHONPATH=REPO, OMP_NUM_THREADS='1',
               GRANZSL_MM_TEXT_CACHE=str(tmp_path / 'text_cache'))
    proc = subprocess.run(
        [sys.executable, 'tools/infer.py', CONFIG, str(folder), '--vocab',
         'cat, dog', '--batch-size', '2', '--out', out, '--no-progress'],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1, proc.stdout[-2000:] + proc.stderr[-3000:]
    with open(out) as f:
        written = json.load(f)
    assert [osp.basename(r['img_path']) for r in written['results']] == [
        'a.png', 'c.png', 'e.png']
    failed = {osp.basename(f['img_path']): f['error']
              for f in written['failures']}
    assert sorted(failed) == ['b.png', 'd.jpg']
    assert 'empty (0 bytes)' in failed['d.jpg']
    assert str(folder / 'd.jpg') in failed['d.jpg']
    assert str(folder / 'b.png') in failed['b.png']
    for name in ('b.png', 'd.jpg'):
        assert str(folder / name) in proc.stderr
