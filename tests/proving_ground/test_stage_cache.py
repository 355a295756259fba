"""The stage cache of a world run: results kept under their key, runs
resumed, a fresh cache ignoring the file."""
from granzsl_mm.proving_ground.stage_cache import StageCache, stage_key


def test_cache_resumes_and_reruns_only_on_another_key(tmp_path):
    path = str(tmp_path / 'stages.json')
    cache = StageCache(path)
    assert cache.get('x', 'k1') is None
    cache.put('x', 'k1', dict(v=1), 2.5)
    again = StageCache(path)
    assert again.get('x', 'k1') == dict(v=1)
    assert again.get('x', 'other key') is None
    assert again.seconds() == dict(x=2.5)

    calls = []

    def stage():
        calls.append(1)
        return dict(v=len(calls))
    assert again.run('x', 'k1', stage) == dict(v=1)  # cached: not run
    assert again.run('y', 'k2', stage) == dict(v=1)  # ran once
    assert StageCache(path).run('y', 'k2', stage) == dict(v=1)
    assert again.run('y', 'k3', stage) == dict(v=2)  # another key: again
    assert len(calls) == 2
    assert set(StageCache(path).seconds()) == {'x', 'y'}
    assert StageCache(path, fresh=True).get('x', 'k1') is None


def test_stage_key_depends_on_content_not_order():
    assert stage_key(dict(a=1, b=[2, 3])) == stage_key(dict(b=[2, 3], a=1))
    assert stage_key(dict(a=1)) != stage_key(dict(a=2))
    assert len(stage_key(['x'])) == 16
