"""MMPretrain companions: print_config, browse_dataset, analyze_logs,
get_model."""
import json
import os.path as osp

import pytest
import torch

from granzsl_mm.utils.log_analysis import load_scalar_log, plot_curves, train_time_stats
from tests.fixtures.run_tools import TINY_CFG, data_opts, python
from tests.fixtures.tiny_multilabel import make_tiny_multilabel


@pytest.fixture(scope='module')
def tiny_data(tmp_path_factory):
    return make_tiny_multilabel(str(tmp_path_factory.mktemp('tiny_ml')),
                                num_train=6, num_test=3)


@pytest.mark.slow
def test_print_config_applies_options():
    proc = python('tools/misc/print_config.py', TINY_CFG, '--cfg-options',
                  'train_cfg.max_epochs=9')
    assert 'max_epochs=9' in proc.stdout
    assert "default_scope = 'granzsl_mm'" in proc.stdout


@pytest.mark.slow
def test_browse_dataset_writes_labelled_pictures(tiny_data, tmp_path):
    out = str(tmp_path / 'browse')
    python('tools/visualization/browse_dataset.py', TINY_CFG, '--output-dir',
           out, '--show-number', '3', '--cfg-options', *data_opts(tiny_data))
    pngs = sorted(p for p in __import__('os').listdir(out) if p.endswith('.png'))
    assert len(pngs) == 3


@pytest.mark.slow
def test_analyze_logs(tmp_path):
    log = tmp_path / 'scalars.json'
    rows = [dict(lr=0.1, loss=1.0 - 0.1 * i, time=0.5 + i, step=i + 1)
            for i in range(4)] + [dict(**{'zsl/mAP': 10.0}, step=1)]
    log.write_text('\n'.join(json.dumps(r) for r in rows) + '\n')
    parsed = load_scalar_log(str(log))
    assert len(parsed['train']) == 4 and len(parsed['val']) == 1
    stats = train_time_stats(parsed)
    assert stats['mean'] == pytest.approx(2.0)
    assert stats['max'] == pytest.approx(3.5)
    out = plot_curves([parsed], ['loss', 'zsl/mAP'], str(tmp_path / 'c.png'))
    assert osp.getsize(out) > 1000
    with pytest.raises(KeyError):
        plot_curves([parsed], ['nope'], str(tmp_path / 'd.png'))
    proc = python('tools/analysis_tools/analyze_logs.py', 'cal_train_time',
                  str(log))
    assert '2.0000 s/iter' in proc.stdout
    bad = tmp_path / 'bad.json'
    bad.write_text('{"a": 1}\nnot json\n')
    with pytest.raises(ValueError, match='bad.json:2'):
        load_scalar_log(str(bad))


def test_get_model_from_config_and_checkpoint(tmp_path):
    import granzsl_mm
    model = granzsl_mm.get_model(TINY_CFG)
    assert type(model).__name__ == 'ImageClassifier'
    ckpt = str(tmp_path / 'w.pth')
    torch.save({'state_dict': {k: torch.full_like(v, 0.5) for k, v in
                               model.state_dict().items()}}, ckpt)
    loaded = granzsl_mm.get_model(TINY_CFG, pretrained=ckpt)
    assert all(torch.all(v == 0.5) for v in loaded.state_dict().values()
               if v.is_floating_point())


def test_plot_curve_writes_beside_the_log_and_checks_the_legend(
        tmp_path, capsys, monkeypatch):
    from tests.fixtures.run_tools import run_tool_in_process
    log = tmp_path / 'run' / 'scalars.json'
    log.parent.mkdir()
    log.write_text('\n'.join(json.dumps(dict(loss=1.0 / (i + 1), step=i + 1))
                             for i in range(3)) + '\n')
    monkeypatch.chdir(tmp_path)
    code, err = run_tool_in_process(
        'analysis_tools/analyze_logs.py',
        ['plot_curve', str(log), '--legend', 'a', 'b'], capsys)
    assert code == 2 and '--legend names 2 curves for 1 logs' in err
    code, _ = run_tool_in_process('analysis_tools/analyze_logs.py',
                                  ['plot_curve', str(log)], capsys)
    assert code == 0
    assert osp.getsize(tmp_path / 'run' / 'curves.png') > 1000
    assert not osp.exists(tmp_path / 'curves.png')
