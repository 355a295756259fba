"""The restricted unpickler: plain data loads, code and objects are refused."""
import os
import pickle

import numpy as np
import pytest

from granzsl_mm.utils.safe_pickle import UnsafePickleError, safe_pickle_load


def _dump(path, obj, protocol=pickle.HIGHEST_PROTOCOL):
    with open(path, 'wb') as f:
        pickle.dump(obj, f, protocol=protocol)
    return str(path)


@pytest.mark.parametrize('protocol', [2, 4, 5])
def test_plain_data_round_trips(tmp_path, protocol):
    data = {
        'train': np.arange(48, dtype=np.int64), 'test': [1, 2.5, 'x', b'y'],
        'labels': {'a/1.jpg': np.array([1, -1, 0], np.int8)},
        'sets': (set([1, 2]), frozenset(['u'])), 'none': None, 'ok': True,
        'f16': np.ones((2, 3), np.float16), 'scalar': np.float32(0.5),
        'names': np.array(['ab', 'cd']),
    }
    out = safe_pickle_load(_dump(tmp_path / 'd.pkl', data, protocol))
    assert out.keys() == data.keys()
    np.testing.assert_array_equal(out['train'], data['train'])
    assert out['train'].dtype == np.int64
    assert out['test'] == data['test']
    np.testing.assert_array_equal(out['labels']['a/1.jpg'], [1, -1, 0])
    assert out['sets'] == data['sets'] and out['none'] is None
    assert out['f16'].dtype == np.float16 and out['scalar'] == 0.5
    assert out['names'].tolist() == ['ab', 'cd']


def test_str_object_array_like_biam_unseen_labels(tmp_path):
    """BiAM's unseen_labels.pkl: protocol 2, object array of MIDs."""
    mids = np.array(['/m/011_xr', '/m/011k_j', '/m/011l1'], dtype=object)
    path = _dump(tmp_path / 'unseen_labels.pkl', mids, protocol=2)
    with pytest.raises(UnsafePickleError, match='object array'):
        safe_pickle_load(path)
    out = safe_pickle_load(path, allow_str_object_arrays=True)
    assert out.dtype == object and out.tolist() == mids.tolist()


def test_object_array_with_non_str_refused(tmp_path):
    arr = np.array(['a', 3], dtype=object)
    path = _dump(tmp_path / 'mixed.pkl', {'x': [arr]})
    with pytest.raises(UnsafePickleError, match='holds a int'):
        safe_pickle_load(path, allow_str_object_arrays=True)


class _Exploit:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f'touch {self.marker}', ))


def test_crafted_reduce_is_refused_and_nothing_runs(tmp_path):
    marker = tmp_path / 'ran'
    path = _dump(tmp_path / 'evil.pkl', {'a': _Exploit(marker)}, protocol=2)
    with pytest.raises(UnsafePickleError) as err:
        safe_pickle_load(path)
    msg = str(err.value)
    assert path in msg
    assert 'posix.system' in msg or 'os.system' in msg
    assert not marker.exists()
    # the same file does run under plain pickle: the test is meaningful
    with open(path, 'rb') as f:
        pickle.load(f)
    assert marker.exists()


def test_other_globals_refused(tmp_path):
    path = _dump(tmp_path / 'cls.pkl', _Exploit)  # a class by reference
    with pytest.raises(UnsafePickleError, match='test_safe_pickle._Exploit'):
        safe_pickle_load(path)
    # _codecs.encode is admitted for latin1 only
    raw = (b'\x80\x02c_codecs\nencode\nq\x00X\x01\x00\x00\x00aX\x04\x00\x00'
           b'\x00zlibq\x01\x86q\x02Rq\x03.')
    bad = tmp_path / 'codec.pkl'
    bad.write_bytes(raw)
    with pytest.raises(UnsafePickleError, match='latin1'):
        safe_pickle_load(str(bad))


def test_missing_and_broken_files(tmp_path):
    with pytest.raises(FileNotFoundError, match='nope.pkl'):
        safe_pickle_load(str(tmp_path / 'nope.pkl'))
    broken = tmp_path / 'broken.pkl'
    broken.write_bytes(pickle.dumps([1, 2, 3])[:-3])
    with pytest.raises(ValueError, match='not a readable pickle'):
        safe_pickle_load(str(broken))


def test_a_shared_list_deep_down_is_checked_once(tmp_path):
    """``x = [x, x]`` 60 levels deep: a 429-byte-class pickle whose shared
    references a naive walk visits 2**60 times (it would never return)."""
    import time
    x = []
    for _ in range(60):
        x = [x, x]
    path = tmp_path / 'shared.pkl'
    path.write_bytes(pickle.dumps(x, protocol=2))
    start = time.perf_counter()
    data = safe_pickle_load(str(path))
    assert time.perf_counter() - start < 5  # linear, not exponential
    depth = 0
    while data:
        assert data[0] is data[1]  # the sharing survives
        data, depth = data[0], depth + 1
    assert depth == 60
