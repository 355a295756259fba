"""A copied data root reuses its pre-trained tiny CLIP (docs/demo.md)."""
import os.path as osp
import shutil

import pytest

from granzsl_mm.proving_ground.stages import pretrain_tiny_clip
from tests.fixtures.run_tools import REPO

CONFIG = osp.join(REPO, 'configs', 'pretrain_tiny_clip_demo.py')


class _Runner:
    """Stands in for the pre-training run: counts the runs, writes the
    checkpoint where the export hook would."""

    def __init__(self, runs: list, out: str):
        self.runs, self.out = runs, out

    def train(self):
        self.runs.append(self.out)
        with open(self.out, 'wb') as f:
            f.write(b'tiny clip')


@pytest.mark.slow  # builds the shared small world (about 10 s) when first
def test_copied_data_root_reuses_the_tiny_clip(small_demo_world, tmp_path,
                                               monkeypatch):
    import granzsl_mm.engine as engine
    runs = []

    def build_runner(cfg):
        hook = next(h for h in cfg.custom_hooks
                    if str(h['type']).endswith('ExportOpenCLIPHook'))
        return _Runner(runs, hook['out_file'])

    monkeypatch.setattr(engine, 'build_runner', build_runner)
    first = str(tmp_path / 'demo')
    shutil.copytree(small_demo_world, first)
    out = pretrain_tiny_clip(CONFIG, first, str(tmp_path / 'work'),
                             max_iters=8)
    assert runs == [out] and out == osp.join(first, 'tiny_clip.pt')
    copied = str(tmp_path / 'elsewhere' / 'demo_copy')
    shutil.copytree(first, copied)
    again = pretrain_tiny_clip(CONFIG, copied, str(tmp_path / 'work2'),
                               max_iters=8)
    assert again == osp.join(copied, 'tiny_clip.pt')
    assert runs == [out], 'the copy pre-trained again'
    # another setting is another tiny CLIP
    pretrain_tiny_clip(CONFIG, copied, str(tmp_path / 'work3'), max_iters=12)
    assert len(runs) == 2


@pytest.fixture(autouse=True)
def _no_repo_writes(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
