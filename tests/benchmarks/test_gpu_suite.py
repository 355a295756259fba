"""benchmarks/gpu_suite.sh --small: the whole suite on CPU in seconds."""
import importlib.util
import json
import os.path as osp

import pytest
import torch

from granzsl_mm.evaluation.functional import multilabel_zsl_metrics
from tests.fixtures.run_tools import REPO, run

SUITE = osp.join(REPO, 'benchmarks', 'gpu_suite.py')

pytestmark = pytest.mark.slow


def _suite():
    spec = importlib.util.spec_from_file_location('gpu_suite', SUITE)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _fp32_scores(root):
    """The suite's random model (seed 0) on its JPEGs in ``root``, here:
    one view and the 1+13 snippets, with the labels."""
    from mmengine.runner import Runner

    from granzsl_mm import register_all_modules
    from granzsl_mm.registry import MODELS
    suite = _suite()
    torch.manual_seed(0)  # as the suite's main() before it builds the model
    register_all_modules()
    cfg = suite.load_cfg(dict(suite.SMALL), root)
    model = MODELS.build(cfg.model).eval()
    tta = MODELS.build(dict(type='SnippetTTAModel', module=model,
                            grids=tuple(cfg.tta_model.grids)))
    out = {'1 view, fp32': [], '1+13 snippets, fp32': []}
    targets = []
    with torch.no_grad():
        for batch in Runner.build_dataloader(cfg.test_dataloader):
            out['1 view, fp32'] += [s.pred_score for s in model.test_step(
                batch)]
            preds = tta.test_step(batch)
            out['1+13 snippets, fp32'] += [s.pred_score for s in preds]
            targets += [s.gt_score for s in preds]
    return ({k: torch.stack(v).numpy() for k, v in out.items()},
            torch.stack(targets).numpy())


def test_gpu_suite_small_runs_every_part(tmp_path):
    out = tmp_path / 'figures.json'
    data = tmp_path / 'data'
    proc = run(['bash', 'benchmarks/gpu_suite.sh', '--small', '--device',
                'cpu', '--json', str(out), '--workdir', str(data)],
               env=dict(CUDA_VISIBLE_DEVICES=''), timeout=480)
    fig = json.loads(out.read_text())
    assert fig['small'] and fig['arch'] == 'TinyCLIP-test'
    # 8 JPEGs in batches of 4; the first batch warms up, 4 are timed
    assert set(fig['test']) == {'1 view, fp32', '1 view, bf16',
                                '1+13 snippets, fp32', '1+13 snippets, bf16'}
    for res in fig['test'].values():
        assert res['images'] == 4 and res['images_per_s'] > 0
    # its fp32 GZSL mAP: the configured metric (GranZSL's protocol) on the
    # same model's scores of all 8 images; bf16 rounds the same scores
    scores, targets = _fp32_scores(str(data))
    for name, fp32 in scores.items():
        ref = multilabel_zsl_metrics(fp32, targets, topk=(3, 5),
                                     drop_empty_images=True)
        assert fig['test'][name]['gzsl_mAP'] == pytest.approx(ref['mAP'],
                                                             abs=1e-3), name
        bf16 = fig['test'][name.replace('fp32', 'bf16')]['gzsl_mAP']
        assert bf16 == pytest.approx(ref['mAP'], abs=5.0), name
    ratios = fig['test_ratios']
    assert ratios['bf16/fp32, 1 view'] == fig['test']['1 view, bf16'][
        'images_per_s'] / fig['test']['1 view, fp32']['images_per_s']
    # 65 classes x (2 sentences + 1 template); batch 64, drop_last: 3 x 2
    assert fig['train']['items'] == 195
    assert fig['train']['epochs'] == 2 and fig['train']['iters'] == 6
    assert fig['eval']['rows'] == 2000 and fig['eval']['classes'] == 68
    for line in ('COCO GZSL test', 'throughput ratios',
                 'GranZSL COCO text training', 'NUS-WIDE-size evaluation'):
        assert line in proc.stdout
    # every model of the metafile is in the suite: measured, or not run with
    # the reason (a dataset's class-name file; a tiny tower too small for
    # a head sized for ViT-B); the demo worlds' models all run
    import yaml
    with open(osp.join(REPO, 'configs', 'metafile.yml')) as f:
        names = [m['Name'] for m in yaml.safe_load(f)['Models']]
    assert list(fig['models']) == names
    for name, res in fig['models'].items():
        assert res['status'] in ('ok', 'not run'), name
        if res['status'] == 'ok':
            assert res['images_per_s'] > 0 and res['images'] == 4, name
        else:
            assert res['reason'], name
    # the models whose configs read no dataset file run on any checkout
    # (the demo worlds' other configs read data/demo/split.json)
    runs = {n for n, r in fig['models'].items() if r['status'] == 'ok'}
    assert {'clip_zeroshot_coco', 'granzsl_coco', 'granzsl_demo',
            'mkt_stage2_coco', 'spml_voc_resnet50', 'dualcoop_coco',
            'taidpt_voc', 'tagclip_voc'} <= runs
    for name, res in fig['models'].items():
        if res['status'] != 'ok' and 'class-name file' in res['reason']:
            assert 'data/' in res['reason'], name  # the file is named
    assert 'every model of configs/metafile.yml' in proc.stdout
