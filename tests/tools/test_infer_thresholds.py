"""tools/infer.py's per-source thresholds and its default highlight."""
import json
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config
from PIL import Image

from granzsl_mm.apis import get_model
from tests.fixtures.run_tools import REPO, run_tool

CONFIG = osp.join(REPO, 'tests', 'fixtures', 'configs',
                  'clip_zeroshot_tiny.py')
VOCAB = 'dog, zebra, cat, red car, tree, blue sky, green field'


def _infer(argv: list, capsys) -> tuple:
    """(exit status, stdout, stderr) of tools/infer.py in this process."""
    try:
        run_tool('tools/infer.py', argv)
        code = 0
    except SystemExit as done:
        code = done.code
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.slow  # two in-process runs of the tool on a tiny model
def test_threshold_per_source_and_standout_marks(tmp_path, capsys):
    rng = np.random.default_rng(1)
    for i in range(2):
        Image.fromarray(rng.integers(0, 256, (36, 40, 3), dtype=np.uint8)
                        ).save(str(tmp_path / f'img_{i}.png'))
    torch.manual_seed(5)
    model = get_model(Config.fromfile(CONFIG))
    ckpt = str(tmp_path / 'tiny.pth')
    torch.save(dict(state_dict=model.state_dict(), meta={}), ckpt)
    common = [CONFIG, str(tmp_path / '*.png'), '--checkpoint', ckpt,
              '--vocab', VOCAB, '--topk', '0', '--text-cache-dir', 'none',
              '--no-progress']

    out_all = str(tmp_path / 'all.json')
    code, _, err = _infer(common + ['--out', out_all], capsys)
    assert code == 0, err
    with open(out_all) as f:
        every = json.load(f)['results']
    out_cut = str(tmp_path / 'cut.json')
    code, summary, err = _infer(
        common + ['--out', out_cut, '--threshold-prompt', 'auto',
                  '--threshold-learned', '5'], capsys)
    assert code == 0, err
    with open(out_cut) as f:
        cut = json.load(f)['results']
    for full, kept in zip(every, cut):
        scores = np.array(full['by_source']['prompt']['scores'])
        assert len(scores) == 7  # every word of the vocabulary, one source
        standout = scores.mean() + scores.std()  # population std
        assert full['standout']['prompt'] == pytest.approx(standout)
        assert full['thresholds'] == {'prompt': None}
        assert kept['thresholds']['prompt'] == pytest.approx(standout)
        want = [label for label, score in zip(
            full['by_source']['prompt']['labels'], scores)
            if score >= standout]
        assert kept['by_source']['prompt']['labels'] == want
        assert kept['labels'] == want  # one source: the merged ranking
        # the summary marks exactly those with *
        line = next(x for x in summary.splitlines()
                    if x.startswith(kept['img_path']))
        assert line.count('*') == len(want) >= 1


def test_a_word_for_a_threshold_is_an_exit_2(tmp_path, capsys):
    code, _, err = _infer([CONFIG, str(tmp_path), '--threshold-prompt',
                           'high'], capsys)
    assert code == 2 and "'auto'" in err and '--threshold-prompt' in err
