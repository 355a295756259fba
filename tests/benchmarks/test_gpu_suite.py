"""benchmarks/gpu_suite.sh --small: the whole suite on CPU in seconds."""
import json

from tests.fixtures.run_tools import run


def test_gpu_suite_small_runs_every_part(tmp_path):
    out = tmp_path / 'figures.json'
    proc = run(['bash', 'benchmarks/gpu_suite.sh', '--small', '--device',
                'cpu', '--json', str(out)], env=dict(CUDA_VISIBLE_DEVICES=''),
               timeout=240)
    fig = json.loads(out.read_text())
    assert fig['small'] and fig['arch'] == 'TinyCLIP-test'
    # 8 JPEGs in batches of 4; the first batch warms up, 4 are timed
    assert set(fig['test']) == {'1 view, fp32', '1 view, bf16',
                                '1+13 snippets, fp32', '1+13 snippets, bf16'}
    for res in fig['test'].values():
        assert res['images'] == 4 and res['images_per_s'] > 0
        assert 0 <= res['gzsl_mAP'] <= 100
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
