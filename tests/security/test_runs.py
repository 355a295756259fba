"""Prediction dumps, class order, ``none`` checkpoints and distributed tests
through tools/test.py and the runner set-up on a tiny COCO-style test set
(random TinyCLIP-test weights)."""
import numpy as np
import pytest
import torch
from mmengine.config import Config

from granzsl_mm import register_all_modules
from granzsl_mm.engine import build_runner, prepare_test_cfg, prepare_train_cfg
from tests.fixtures.run_tools import free_port, python, run
from tests.security.tiny_runs import SEEN, UNSEEN, make_tiny_coco, tiny_config

NAMES = SEEN + UNSEEN


@pytest.fixture(scope='module')
def data(tmp_path_factory):
    return {n: make_tiny_coco(str(tmp_path_factory.mktemp(f'coco{n}')), n)
            for n in (7, 11)}


def _test_in_process(cfg_path, work_dir, out=None, checkpoint='none',
                     **options):
    register_all_modules()
    cfg = Config.fromfile(cfg_path)
    cfg.merge_from_dict(options)
    prepare_test_cfg(cfg, cfg_path, checkpoint, work_dir=str(work_dir),
                     out=out)
    return build_runner(cfg).test()


# checkpoint 'none' with load_from -----------------------------------------
@pytest.mark.slow
def test_checkpoint_none_with_load_from_is_refused(tmp_path):
    proc = python('tools/test.py', 'configs/clip_zeroshot_coco.py', 'none',
                  '--cfg-options', f'load_from={tmp_path}/epoch_1.pth',
                  check=False)
    assert proc.returncode == 2
    assert 'contradicts --cfg-options load_from=' in proc.stderr
    assert f'{tmp_path}/epoch_1.pth' in proc.stderr


# prediction dumps ---------------------------------------------------------
@pytest.mark.slow
def test_test_py_out_round_trips_to_eval_scores(data, tmp_path):
    from tests.security.test_untrusted_files import _tool
    cfg = tiny_config('zeroshot', data[7], str(tmp_path / 'zs.py'))
    out = str(tmp_path / 'preds.pth')
    proc = python('tools/test.py', cfg, 'none', '--work-dir',
                  str(tmp_path / 'work'), '--out', out)
    line = [ln for ln in (proc.stdout + proc.stderr).splitlines()
            if 'Epoch(test)' in ln and 'zsl/mAP' in ln][-1]
    logged = float(line.split(' zsl/mAP: ')[1].split()[0])
    rows = torch.load(out, weights_only=True)  # no pickle of torch objects
    assert len(rows) == 7 and rows[0]['pred_score'].shape == (5, )
    res = _tool().main([out, '--config', cfg])
    assert res['zsl/mAP'] == pytest.approx(logged, abs=1e-4)


def test_safe_dump_results_formats(tmp_path):
    from granzsl_mm.evaluation.metrics import SafeDumpResults
    from granzsl_mm.evaluation.prediction_dump import load_predictions
    from granzsl_mm.utils.safe_pickle import safe_pickle_load
    preds = [dict(pred_score=torch.tensor([0.1, 0.9]), img_path=f'{i}.png',
                  gt_score=torch.tensor([0., 1.]), ori_shape=(8, 8))
             for i in range(3)]
    for suffix in ('.pth', '.npz', '.pkl'):
        metric = SafeDumpResults(str(tmp_path / f'd{suffix}'))
        metric.process(None, preds)
        assert metric.compute_metrics(metric.results) == {}
        back = load_predictions(str(tmp_path / f'd{suffix}'))
        assert len(back) == 3
        np.testing.assert_allclose(np.asarray(back[2]['pred_score']),
                                   [0.1, 0.9], rtol=1e-6)
    assert safe_pickle_load(str(tmp_path / 'd.pkl'))[1]['img_path'] == '1.png'
    with pytest.raises(ValueError, match='one of'):
        SafeDumpResults(str(tmp_path / 'd.json'))


# class order (ClassOrderError is a ValueError) -----------------------------
@pytest.mark.slow
def test_class_order_mismatch_at_test_is_refused_or_mapped(data, tmp_path):
    cfg = tiny_config('zeroshot', data[7], str(tmp_path / 'zs.py'))
    swapped = [NAMES[1], NAMES[0]] + NAMES[2:]  # same seen set, another order
    ref = _test_in_process(cfg, tmp_path / 'ref')
    with pytest.raises(ValueError) as info:
        _test_in_process(cfg, tmp_path / 'bad',
                         **{'model.class_names': swapped})
    text = str(info.value)
    assert "position 0: the model has 'dog', the dataset has 'person'" in text
    assert 'class_order=by_name' in text
    mapped = _test_in_process(cfg, tmp_path / 'mapped', class_order='by_name',
                              **{'model.class_names': swapped})
    assert mapped['gzsl/mAP'] == pytest.approx(ref['gzsl/mAP'])
    assert mapped['zsl/mAP'] == pytest.approx(ref['zsl/mAP'])
    # a checkpoint's stored class names are checked too
    ckpt = str(tmp_path / 'other_order.pth')
    torch.save(dict(state_dict={}, meta=dict(dataset_meta=dict(
        classes=NAMES[::-1]))), ckpt)
    with pytest.raises(ValueError, match='other_order.pth'):
        _test_in_process(cfg, tmp_path / 'ckpt', checkpoint=ckpt)


@pytest.mark.slow
def test_class_order_mismatch_at_train_is_refused_or_mapped(data, tmp_path):
    register_all_modules()
    path = tiny_config('granzsl', data[7], str(tmp_path / 'gz.py'))

    def train(**options):
        cfg = Config.fromfile(path)
        cfg.merge_from_dict(dict({'train_cfg.max_epochs': 1}, **options))
        prepare_train_cfg(cfg, path, work_dir=str(tmp_path / 'work'),
                          no_validate=True)
        return build_runner(cfg).train()

    swapped = NAMES[:3] + [NAMES[4], NAMES[3]]
    with pytest.raises(ValueError, match="position 3: the model has "
                       "'boat', the dataset has 'cat'"):
        train(**{'model.class_names': swapped})
    train(class_order='by_name', **{'model.class_names': swapped})


# distributed tests of frozen and trainable models -------------------------
@pytest.mark.slow
@pytest.mark.parametrize('kind', ['zeroshot', 'granzsl'])
def test_dist_test_of_frozen_and_trainable_models(kind, data, tmp_path):
    for n in (7, 11):
        cfg = tiny_config(kind, data[n], str(tmp_path / f'{kind}{n}.py'))
        single = _test_in_process(cfg, tmp_path / f'single{n}',
                                  out=str(tmp_path / f'single{n}.pth'))
        out = str(tmp_path / f'dist{n}.pth')
        proc = run(['bash', 'tools/dist_test.sh', cfg, 'none', '2',
                    '--work-dir', str(tmp_path / f'dist{n}'), '--out', out],
                   env={'PORT': str(free_port())})
        assert 'DistributedDataParallel is not needed' not in proc.stderr
        rows = torch.load(out, weights_only=True)
        ref = torch.load(str(tmp_path / f'single{n}.pth'), weights_only=True)
        assert [r['sample_idx'] for r in rows] == list(range(n))
        np.testing.assert_allclose(
            torch.stack([r['pred_score'] for r in rows]).numpy(),
            torch.stack([r['pred_score'] for r in ref]).numpy(), atol=1e-5)
        line = [ln for ln in (proc.stdout + proc.stderr).splitlines()
                if 'Epoch(test)' in ln and 'gzsl/mAP' in ln][-1]
        logged = float(line.split('gzsl/mAP: ')[1].split()[0])
        assert logged == pytest.approx(single['gzsl/mAP'], abs=1e-4)
