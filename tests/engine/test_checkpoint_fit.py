"""A checkpoint that does not fit the model is refused by every Runner entry
point (``tools/test.py``, ``tools/train.py`` with ``load_from`` or
``--resume``) before anything is scored or trained."""
import os.path as osp

import pytest
import torch
from mmengine.config import Config

from tests.fixtures.run_tools import TINY_CFG, data_opts, run_tool_in_process
from tests.fixtures.tiny_multilabel import make_tiny_multilabel


@pytest.fixture(scope='module')
def tiny(tmp_path_factory):
    """Tiny data and a checkpoint of the tiny config's model."""
    from granzsl_mm import register_all_modules
    from granzsl_mm.registry import MODELS
    register_all_modules()
    root = tmp_path_factory.mktemp('fit')
    data = make_tiny_multilabel(str(root / 'data'))
    cfg = Config.fromfile(TINY_CFG)
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    state = model.state_dict()
    return dict(data=data, root=root, state=state)


def _save(path, state) -> str:
    torch.save(dict(state_dict=state, meta=dict()), str(path))
    return str(path)


def _misfits(tiny, tmp_path):
    state = tiny['state']
    head = [k for k in state if k.startswith('head.')][0]
    reshaped = dict(state)
    reshaped[head] = torch.zeros(7, *state[head].shape[1:])
    foreign = dict(state)
    foreign['neck.extra.weight'] = torch.zeros(3)
    missing = {k: v for k, v in state.items() if k != head}
    return {
        'another class count': (_save(tmp_path / 'cls.pth', reshaped),
                                'differ in shape'),
        'foreign keys': (_save(tmp_path / 'foreign.pth', foreign),
                         'unknown to the model'),
        'a missing tensor': (_save(tmp_path / 'missing.pth', missing),
                             'missing from the checkpoint'),
    }


@pytest.mark.parametrize('case', ['another class count', 'foreign keys',
                                  'a missing tensor'])
def test_test_py_refuses_a_misfit_checkpoint(tiny, tmp_path, capsys, case):
    path, words = _misfits(tiny, tmp_path)[case]
    code, err = run_tool_in_process('test.py', [
        TINY_CFG, path, '--work-dir', str(tmp_path / 'w'), '--cfg-options',
        *data_opts(tiny['data'])], capsys)
    assert code == 2, err[-2000:]
    assert osp.basename(path) in err and words in err
    assert 'Traceback' not in err


def test_test_py_scores_a_fitting_checkpoint(tiny, tmp_path, capsys):
    path = _save(tmp_path / 'ok.pth', tiny['state'])
    out = str(tmp_path / 'metrics.json')
    code, err = run_tool_in_process('test.py', [
        TINY_CFG, path, '--work-dir', str(tmp_path / 'w'), '--out', out,
        '--out-item', 'metrics', '--cfg-options', *data_opts(tiny['data'])],
        capsys)
    assert code == 0, err[-2000:]
    assert osp.isfile(out)


@pytest.mark.slow
def test_train_py_load_from_and_resume_refuse_a_misfit(tiny, tmp_path,
                                                       capsys):
    path, words = _misfits(tiny, tmp_path)['another class count']
    opts = ['--cfg-options', *data_opts(tiny['data']),
            'train_cfg.max_epochs=1']
    code, err = run_tool_in_process('train.py', [
        TINY_CFG, '--work-dir', str(tmp_path / 'a'), *opts,
        f'load_from={path}'], capsys)
    assert code == 2 and words in err and 'Traceback' not in err
    code, err = run_tool_in_process('train.py', [
        TINY_CFG, '--work-dir', str(tmp_path / 'b'), '--resume', path,
        *opts], capsys)
    assert code == 2 and words in err and 'Traceback' not in err
    assert not osp.exists(tmp_path / 'b' / 'epoch_1.pth')  # nothing trained
