"""tools/infer.py on a tiny model: JSON + pictures equal the model's predict."""
import json
import os
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import Compose, pseudo_collate
from PIL import Image

from granzsl_mm.apis import get_model
from granzsl_mm.registry import TRANSFORMS

pytestmark = pytest.mark.slow

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(REPO, 'tests', 'fixtures', 'configs',
                  'clip_zeroshot_tiny.py')
WORDS = ['dog', 'zebra', 'cat', 'red car']


def _make_images(folder, num=3):
    os.makedirs(folder)
    rng = np.random.default_rng(0)
    paths = []
    for i in range(num):
        arr = rng.integers(0, 256, size=(40 + 4 * i, 36, 3), dtype=np.uint8)
        arr[5:20, 5:20] = (200, 30 * i, 10)
        paths.append(osp.join(folder, f'img_{i}.png'))
        Image.fromarray(arr).save(paths[-1])
    return paths


def _own_predict(model, cfg, paths):
    """The model's own test_step on the config's full test pipeline."""
    pipeline = Compose([TRANSFORMS.build(t) for t in cfg.test_pipeline])
    data = pseudo_collate([pipeline(dict(img_path=p)) for p in paths])
    with torch.no_grad():
        return torch.stack([s.pred_score for s in model.test_step(data)])


def test_infer_tool_writes_json_and_pictures(tmp_path):
    paths = _make_images(str(tmp_path / 'imgs'))
    cfg = Config.fromfile(CONFIG)
    torch.manual_seed(3)
    model = get_model(cfg)
    ckpt = str(tmp_path / 'tiny.pth')
    torch.save(dict(state_dict=model.state_dict(), meta={}), ckpt)
    (tmp_path / 'words.txt').write_text('\n'.join(WORDS) + '\n')
    out, vis = str(tmp_path / 'res.json'), str(tmp_path / 'vis')
    env = dict(os.environ, PYTHONPATH=REPO, OMP_NUM_THREADS='1')
    proc = subprocess.run(
        [sys.executable, 'tools/infer.py', CONFIG,
         str(tmp_path / 'imgs' / '*.png'), '--checkpoint', ckpt, '--vocab',
         str(tmp_path / 'words.txt'), '--topk', '3', '--out', out,
         '--show-dir', vis, '--text-cache-dir', 'none'], cwd=REPO, env=env,
        capture_output=True,
        text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    with open(out) as f:
        written = json.load(f)
    assert written['vocabulary'] == WORDS
    assert written['sources'] == ['prompt'] * 4
    assert [r['img_path'] for r in written['results']] == paths
    assert sorted(os.listdir(vis)) == ['img_0.png', 'img_1.png', 'img_2.png']
    for name in os.listdir(vis):
        assert Image.open(osp.join(vis, name)).size[0] > 100

    model.set_vocabulary(WORDS)
    ref = _own_predict(model, cfg, paths)
    for row, res in zip(ref, written['results']):
        order = torch.sort(row, descending=True, stable=True).indices[:3]
        assert res['labels'] == [WORDS[i] for i in order]
        assert np.allclose(res['scores'], row[order].numpy(), atol=1e-5)
        assert res['sources'] == ['prompt'] * 3


def test_infer_records_weights_and_sigmoid(tmp_path):
    from granzsl_mm.models.backbones.open_clip_builder import build_open_clip
    paths = _make_images(str(tmp_path / 'imgs'), num=1)
    torch.manual_seed(4)
    clip, _ = build_open_clip('TinyCLIP-test', pretrained='random')
    clip_file = str(tmp_path / 'clip.bin')
    torch.save(clip.state_dict(), clip_file)
    out = str(tmp_path / 'res.json')
    env = dict(os.environ, PYTHONPATH=REPO, OMP_NUM_THREADS='1')
    proc = subprocess.run(
        [sys.executable, 'tools/infer.py', CONFIG, paths[0], '--vocab',
         'dog,zebra', '--clip-checkpoint', clip_file, '--score-act',
         'sigmoid', '--topk', '0', '--out', out, '--text-cache-dir',
         str(tmp_path / 'cache'), '--cfg-options', 'model.logit_scale=5.0'],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    with open(out) as f:
        written = json.load(f)
    weights = written['weights']
    assert weights['clip_checkpoint'] == clip_file
    assert weights['clip_pretrained'] == dict(backbone=clip_file)
    assert weights['cfg_options'] == {'model.logit_scale': 5.0}
    assert weights['config'] == CONFIG and weights['checkpoint'] is None
    cfg = Config.fromfile(CONFIG)
    cfg.merge_from_dict({'model.logit_scale': 5.0,
                         'model.backbone.pretrained': clip_file})
    model = get_model(cfg)
    model.set_vocabulary(['dog', 'zebra'])
    raw = _own_predict(model, cfg, paths)[0]
    res = written['results'][0]
    assert res['merged'] and res['labels'] == res['by_source']['prompt'][
        'labels']
    got = dict(zip(res['labels'], res['scores']))
    assert got['dog'] == pytest.approx(float(torch.sigmoid(raw[0])), abs=1e-5)
    assert len(list((tmp_path / 'cache').glob('text_features_*.pt'))) == 1


def test_infer_user_errors_and_stdout(tmp_path, capsys, monkeypatch):
    """In process: a near-miss vocabulary name and a missing image are one
    line with exit 2; without --out the JSON goes to stdout and nothing is
    written to the current directory."""
    from tests.fixtures.run_tools import run_tool
    paths = _make_images(str(tmp_path / 'imgs'), num=1)
    monkeypatch.chdir(tmp_path)

    def infer(*argv):
        try:
            run_tool('tools/infer.py', [CONFIG, *argv, '--text-cache-dir',
                                        'none'])
        except SystemExit as exit_:
            return exit_.code
        return 0

    assert infer(paths[0], '--vocab', 'coco81') == 2
    err = capsys.readouterr().err
    assert "did you mean 'coco80'" in err and 'Traceback' not in err
    assert infer(str(tmp_path / 'missing.png'), '--vocab', 'dog') == 2
    err = capsys.readouterr().err
    assert 'missing.png' in err and 'Traceback' not in err
    before = sorted(os.listdir(tmp_path))
    assert infer(paths[0], '--vocab', 'dog, zebra', '--topk', '2') == 0
    out = json.loads(capsys.readouterr().out)
    assert out['vocabulary'] == ['dog', 'zebra']
    assert sorted(os.listdir(tmp_path)) == before
