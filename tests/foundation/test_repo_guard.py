"""The run guard of tests/conftest.py: what a test run left in a checkout."""
from tests.fixtures import repo_guard
from tests.fixtures.repo_guard import left_behind, snapshot


def test_new_output_is_named_once_and_new_sources_are_not(tmp_path,
                                                          monkeypatch):
    (tmp_path / 'pkg' / '__pycache__').mkdir(parents=True)
    (tmp_path / 'pkg' / 'mod.py').write_text('')
    (tmp_path / 'venv').mkdir()
    (tmp_path / 'venv' / 'pyvenv.cfg').write_text('')
    before = snapshot(str(tmp_path))
    assert before == {'pkg/', 'pkg/mod.py'}
    # a run: a work dir with a log, a dump beside the sources, caches, a
    # source file someone adds meanwhile, an empty untracked folder
    (tmp_path / 'work_dirs' / 'cfg' / '20260101_000000').mkdir(parents=True)
    (tmp_path / 'work_dirs' / 'cfg' / 'run.log').write_text('')
    (tmp_path / 'pkg' / 'preds.pkl').write_bytes(b'')
    (tmp_path / 'pkg' / '__pycache__' / 'mod.cpython-311.pyc').write_bytes(
        b'')
    (tmp_path / 'venv' / 'new.py').write_text('')
    (tmp_path / 'pkg' / 'new_module.py').write_text('')
    (tmp_path / 'pkg' / 'sub').mkdir()
    monkeypatch.setattr(repo_guard, '_git_ignored', lambda paths, root: {
        p for p in paths if p.startswith('work_dirs/')})
    assert left_behind(before, str(tmp_path)) == ['pkg/preds.pkl',
                                                  'work_dirs/']
    # outside git every new path counts
    monkeypatch.setattr(repo_guard, '_git_ignored',
                        lambda paths, root: set(paths))
    assert left_behind(before, str(tmp_path)) == [
        'pkg/new_module.py', 'pkg/preds.pkl', 'pkg/sub/', 'work_dirs/']
    assert left_behind(snapshot(str(tmp_path)), str(tmp_path)) == []
