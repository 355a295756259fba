"""``mim search/run/train granzsl_mm ...`` resolve to our package data.

setup.py puts ``tools/``, ``configs/`` and ``model-index.yml`` into
``granzsl_mm/.mim`` (links for ``pip install -e``). For an editable install
mim finds the package through the repository's ``granzsl_mm.egg-info``,
so these run mim from the repository root (``python -m mim``).
"""
import os
import os.path as osp
import subprocess
import sys

import pytest

from granzsl_mm.apis.model_zoo import model_index
from tests.fixtures.run_tools import REPO, TINY_CFG, data_opts
from tests.fixtures.tiny_multilabel import make_tiny_multilabel

MIM_ROOT = osp.join(REPO, 'granzsl_mm', '.mim')


def _mim(*args: str, timeout: int = 300) -> str:
    env = dict(os.environ, OMP_NUM_THREADS='1', PYTHONWARNINGS='ignore')
    proc = subprocess.run([sys.executable, '-m', 'mim', *args], cwd=REPO,
                          env=env, capture_output=True, text=True,
                          timeout=timeout)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-4000:]
    return out


def test_mim_package_data_links_the_repository():
    for name in ('tools', 'configs', 'model-index.yml'):
        assert osp.exists(osp.join(MIM_ROOT, name)), (
            f'{name} missing in granzsl_mm/.mim: reinstall with '
            '`pip install -e .` (setup.py adds the mim extension)')
    assert osp.samefile(osp.join(MIM_ROOT, 'tools', 'train.py'),
                        osp.join(REPO, 'tools', 'train.py'))


@pytest.mark.slow
def test_mim_search_lists_every_config():
    out = _mim('search', 'granzsl_mm')
    listed = {line.split(':', 1)[1].strip() for line in out.splitlines()
              if line.startswith('config id:')}
    assert listed == set(model_index())
    assert 'config   configs/granzsl_coco.py' in out
    # the paper field is printed as written (not the keys of a mapping)
    papers = {line.split(None, 1)[1] for line in out.splitlines()
              if line.startswith('paper ')}
    assert 'ICCV 2025: Language-Driven Multi-Label Zero-Shot Learning' in (
        ' '.join(papers))
    assert not any('Title' in p for p in papers), papers


@pytest.mark.slow
def test_mim_list_shows_the_package():
    out = _mim('list')
    assert any(line.split()[:2] == ['granzsl-mm', granzsl_version()]
               for line in out.splitlines() if line.strip())


def granzsl_version() -> str:
    from granzsl_mm import __version__
    return __version__


@pytest.mark.slow
def test_mim_run_and_train_use_the_package_tools(tmp_path):
    out = _mim('run', 'granzsl_mm', 'print_config', TINY_CFG,
               '--cfg-options', 'train_cfg.max_epochs=7')
    assert osp.join('granzsl_mm', '.mim', 'tools', 'misc',
                    'print_config.py') in out
    assert 'max_epochs=7' in out

    data = make_tiny_multilabel(str(tmp_path / 'data'), num_train=4,
                                num_test=2)
    work = str(tmp_path / 'work')
    out = _mim('train', 'granzsl_mm', TINY_CFG, '--work-dir', work,
               '--no-validate', '--cfg-options', *data_opts(data),
               'train_cfg.max_epochs=1', 'train_dataloader.num_workers=0')
    assert osp.join(MIM_ROOT, 'tools', 'train.py') in out
    assert osp.isfile(osp.join(work, 'epoch_1.pth'))
