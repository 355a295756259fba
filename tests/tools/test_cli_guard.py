"""Every tool starts with ``tools/_cli.py`` (the environment check) and ends
through it (user errors as one line, exit status 2)."""
import ast
import glob
import os.path as osp
import subprocess
import sys

import pytest

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CLI = osp.join(REPO, 'tools', '_cli.py')
TOOLS = sorted(p for p in glob.glob(osp.join(REPO, 'tools', '**', '*.py'),
                                    recursive=True)
               if osp.basename(p) != '_cli.py')


def _rel(path: str) -> str:
    return osp.relpath(path, REPO)


def test_every_tool_imports_the_guard_first_and_exits_through_it():
    wrong = []
    for path in TOOLS:
        with open(path, encoding='utf-8') as f:
            tree = ast.parse(f.read())
        imports = [n for n in tree.body
                   if isinstance(n, (ast.Import, ast.ImportFrom))
                   and getattr(n, 'module', None) != '__future__']
        first = imports[0] if imports else None
        if not (isinstance(first, ast.Import)
                and [a.name for a in first.names] == ['_cli']):
            wrong.append(f'{_rel(path)}: first import is not `import _cli`')
        main_block = [n for n in tree.body if isinstance(n, ast.If)
                      and '__main__' in ast.unparse(n.test)]
        if not main_block or '_cli.run(' not in ast.unparse(main_block[0]):
            wrong.append(f'{_rel(path)}: __main__ does not exit through '
                         '_cli.run(main)')
    assert wrong == []


def test_every_tool_folder_links_the_one_guard():
    folders = {osp.dirname(p) for p in TOOLS}
    for folder in folders:
        guard = osp.join(folder, '_cli.py')
        assert osp.realpath(guard) == osp.realpath(CLI), _rel(guard)


def test_every_listed_user_error_exists():
    import _cli

    import importlib
    for module, name in _cli._USER_ERRORS:
        error = getattr(importlib.import_module(module), name)
        assert issubclass(error, Exception), (module, name)
        assert error in _cli.user_error_types()


def test_user_error_is_one_line_with_exit_2(tmp_path, capsys, monkeypatch):
    import _cli
    missing = str(tmp_path / 'data' / 'coco' / 'cls_ids.pickle')

    def main():
        raise FileNotFoundError(f'class split file not found: {missing}')

    monkeypatch.setattr(sys, 'argv', ['tools/x.py'])
    assert _cli.run(main) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith('tools/x.py: error: ')
    assert missing in err[0] and 'docs/datasets.md' in err[0]
    assert '--debug' in err[0]
    # --debug: the traceback instead, and the flag is not passed on
    seen = []

    def main_debug():
        seen.append(list(sys.argv))
        raise FileNotFoundError(missing)

    monkeypatch.setattr(sys, 'argv', ['tools/x.py', '--debug'])
    with pytest.raises(FileNotFoundError):
        _cli.run(main_debug)
    assert seen == [['tools/x.py']]


def test_bugs_keep_their_traceback(monkeypatch):
    import _cli
    monkeypatch.setattr(sys, 'argv', ['tools/x.py'])

    def main():
        raise IndexError('a bug')

    with pytest.raises(IndexError):
        _cli.run(main)
    assert _cli.run(lambda: None) == 0 and _cli.run(lambda: 3) == 3


@pytest.mark.slow
def test_a_python_without_the_environment_gets_the_activate_line():
    # -S: no site-packages (the venv's packages and the editable install are
    # found through site), as the system python3 outside the environment
    script = osp.join('tools', 'analysis_tools', 'get_flops.py')
    proc = subprocess.run([sys.executable, '-S', '-s', '-E', script,
                           'configs/granzsl_demo.py'], cwd=REPO,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    assert 'cannot import granzsl_mm' in lines[0]
    assert '. .venv/bin/activate' in lines[0]
    assert '.venv/bin/python tools/analysis_tools/get_flops.py' in lines[0]
