"""The launchers find the interpreter that has granzsl_mm, and the
import-time check tells "not in this environment" from "mmcv missing"."""
import os
import os.path as osp
import shutil
import subprocess
import sys

import pytest

from tests.fixtures.run_tools import REPO

pytestmark = pytest.mark.slow

VENV_PYTHON = osp.join(REPO, '.venv', 'bin', 'python')
# a PATH without any virtual environment (and without this interpreter)
BARE_PATH = '/usr/bin:/bin'


def _bare_env(**extra) -> dict:
    env = {k: v for k, v in os.environ.items()
           if k not in ('PYTHON', 'PYTHONPATH', 'VIRTUAL_ENV')}
    env.update(dict(PATH=BARE_PATH, OMP_NUM_THREADS='1'), **extra)
    return env


def _resolved_python(tools_dir: str, env: dict) -> subprocess.CompletedProcess:
    script = f'. "{tools_dir}/find_python.sh" && echo "PYTHON=$PYTHON"'
    return subprocess.run(['bash', '-c', script], env=env, capture_output=True,
                          text=True, timeout=60)


@pytest.mark.skipif(not osp.isfile(VENV_PYTHON),
                    reason='needs the repository .venv (make install)')
def test_launchers_default_to_the_repository_venv():
    proc = _resolved_python(osp.join(REPO, 'tools'), _bare_env())
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == f'PYTHON={VENV_PYTHON}'
    # an explicit PYTHON wins
    proc = _resolved_python(osp.join(REPO, 'tools'),
                            _bare_env(PYTHON='/opt/my/python'))
    assert proc.stdout.strip() == 'PYTHON=/opt/my/python'


@pytest.mark.skipif(not osp.isfile(VENV_PYTHON),
                    reason='needs the repository .venv (make install)')
def test_dist_test_sh_runs_with_a_path_lacking_the_venv():
    # torchrun and test.py run under the venv's interpreter although PATH
    # has none that could import torch: --help exits 0 from test.py itself.
    proc = subprocess.run(
        ['bash', osp.join(REPO, 'tools', 'dist_test.sh'), 'CONFIG', 'none',
         '1', '--help'], cwd='/', env=_bare_env(PORT='0'),
        capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert '--clip-checkpoint' in proc.stdout and '--wait-time' in proc.stdout


def test_launchers_fall_back_to_a_python_that_imports_the_package(tmp_path):
    # A checkout without .venv: python3 on PATH cannot import granzsl_mm
    # (a fake one that fails), `python` is this interpreter: it is chosen.
    repo = tmp_path / 'repo'
    shutil.copytree(osp.join(REPO, 'tools'), repo / 'tools',
                    ignore=shutil.ignore_patterns('*.py'))
    bin_dir = tmp_path / 'bin'
    bin_dir.mkdir()
    fake = bin_dir / 'python3'
    fake.write_text('#!/bin/sh\nexit 1\n')
    fake.chmod(0o755)
    wrapper = bin_dir / 'python'
    wrapper.write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
    wrapper.chmod(0o755)
    env = _bare_env(PATH=f'{bin_dir}:{BARE_PATH}')
    env['PYTHONPATH'] = REPO  # where `import granzsl_mm` comes from
    proc = _resolved_python(str(repo / 'tools'), env)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == 'PYTHON=python'
    # nothing usable at all: a clear error, exit 1
    (bin_dir / 'python').unlink()
    proc = _resolved_python(str(repo / 'tools'), env)
    assert proc.returncode == 1
    assert 'no Python with granzsl_mm found' in proc.stderr
    assert 'PYTHON=/path/to/python' in proc.stderr


def _import_registry(prelude: str) -> subprocess.CompletedProcess:
    code = prelude + '\nimport granzsl_mm.registry\n'
    env = dict(os.environ, PYTHONPATH=REPO)
    return subprocess.run([sys.executable, '-c', code], env=env, cwd=REPO,
                          capture_output=True, text=True, timeout=120)


def test_import_check_says_not_in_this_environment():
    # An interpreter without the venv's site-packages (the venv not active).
    proc = _import_registry(
        'import sys\n'
        "sys.path[:] = [p for p in sys.path if 'site-packages' not in p]")
    assert proc.returncode != 0
    err = proc.stderr.strip().splitlines()[-1]
    assert 'mmengine and mmpretrain (needed by granzsl_mm) are not in this ' \
           'Python environment' in err
    assert '. .venv/bin/activate' in err and '.venv/bin/python' in err
    assert 'mmcv-lite' not in err


def test_import_check_says_install_mmcv_lite():
    # mmengine and MMPretrain present, mmcv missing.
    proc = _import_registry(
        'import sys\n'
        'class _NoMmcv:\n'
        '    def find_spec(self, name, path=None, target=None):\n'
        "        if name == 'mmcv' or name.startswith('mmcv.'):\n"
        '            raise ModuleNotFoundError(name)\n'
        'sys.meta_path.insert(0, _NoMmcv())')
    assert proc.returncode != 0
    err = proc.stderr.strip().splitlines()[-1]
    assert 'granzsl_mm needs the `mmcv` module' in err
    assert 'mmcv-lite' in err and 'not in this Python environment' not in err


@pytest.mark.skipif(not osp.isfile(VENV_PYTHON),
                    reason='needs the repository .venv (make install)')
@pytest.mark.parametrize('script,args,tool', [
    ('slurm_test.sh', ['part', 'job', 'CFG.py', 'CKPT.pth', '--out', 'p.pkl'],
     ['test.py', 'CFG.py', 'CKPT.pth', '--launcher=slurm', '--out', 'p.pkl']),
    ('slurm_train.sh', ['part', 'job', 'CFG.py', 'WORK'],
     ['train.py', 'CFG.py', '--work-dir=WORK', '--launcher=slurm']),
])
def test_slurm_launchers_pass_the_venv_python_to_srun(tmp_path, script, args,
                                                      tool):
    # a stand-in srun prints what it would run
    bin_dir = tmp_path / 'bin'
    bin_dir.mkdir()
    srun = bin_dir / 'srun'
    srun.write_text('#!/bin/sh\nprintf "%s\\n" "$@"\n')
    srun.chmod(0o755)
    proc = subprocess.run(
        ['bash', osp.join(REPO, 'tools', script), *args], cwd='/',
        env=_bare_env(PATH=f'{bin_dir}:{BARE_PATH}', GPUS='4',
                      GPUS_PER_NODE='2'),
        capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    argv = proc.stdout.splitlines()
    assert argv[:5] == ['-p', 'part', '--job-name=job', '--gres=gpu:2',
                        '--ntasks=4']
    start = argv.index(VENV_PYTHON)
    assert argv[start + 1] == '-u'
    assert argv[start + 2].endswith('/tools/' + tool[0])
    assert argv[start + 3:] == tool[1:]
