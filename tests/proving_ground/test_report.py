"""The proving ground's reports: one world's table, the aggregation of
per-seed results (intervals, paired differences, wording), files (no model
runs)."""
import json

import numpy as np
import pytest

from granzsl_mm.proving_ground.report import (
    aggregate,
    render_markdown,
    report_evidence,
    write_evidence,
    write_results,
)
from granzsl_mm.proving_ground.statistics import summarize

FULL = 'GranZSL, snippets'
PROMPTS = 'CLIP zero-shot, prompts, global + local score'


def _seed(index, full, no_pair, prompts, chance=20.0):
    levels = dict(a=full + 1.0, b=full - 1.0)
    plevels = dict(a=prompts, b=prompts - 3.0)
    rows = [dict(method='chance (random scores, expected)', zsl_mAP=chance,
                 gzsl_mAP=chance / 2),
            dict(method=PROMPTS, zsl_mAP=prompts, gzsl_mAP=prompts / 2,
                 levels=plevels),
            dict(method=FULL, zsl_mAP=full, gzsl_mAP=full / 2, levels=levels,
                 selected=dict(epoch=3, val=[])),
            dict(method='GranZSL, no pair loss, snippets', zsl_mAP=no_pair,
                 gzsl_mAP=no_pair / 2, levels=levels)]
    info = dict(index=index, num_classes=10, num_seen=6, num_unseen=4,
                num_test=50, num_val=20, world_name='v2',
                unseen_per_level=dict(a=2, b=2),
                level_chance=dict(a=chance, b=chance))
    return dict(info=info, rows=rows)


def test_aggregate_means_intervals_and_paired_differences(tmp_path):
    results = [_seed(0, 60.0, 62.0, 50.0), _seed(1, 64.0, 63.0, 51.0),
               _seed(2, 59.0, 61.5, 52.0)]
    ev = aggregate(results)
    assert ev['seeds'] == [0, 1, 2]
    full = ev['methods'][FULL]['zsl_mAP']
    assert full['mean'] == pytest.approx(61.0)
    assert full['ci'] == pytest.approx(summarize([60.0, 64.0, 59.0])['ci'])
    assert full['x_chance']['mean'] == pytest.approx(61.0 / 20.0)
    d = ev['ablations']['GranZSL, no pair loss, snippets']['zsl_mAP']
    assert d['values'] == pytest.approx([2.0, -1.0, 2.5])
    assert d['every_seed'] == 'mixed' and d['num_higher'] == 2
    c = ev['comparisons'][f'{FULL} - {PROMPTS}']['gzsl_mAP']
    assert c['values'] == pytest.approx([5.0, 6.5, 3.5])
    assert c['every_seed'] == 'higher'
    lv = ev['levels']['diffs'][f'{FULL} - {PROMPTS}']
    assert lv['b']['values'] == pytest.approx([12.0, 15.0, 9.0])
    assert ev['selected'][FULL] == [dict(epoch=3)] * 3

    out = write_evidence(str(tmp_path), results, dict(threads=1))
    text = (tmp_path / 'evidence.md').read_text()
    assert '| GranZSL, no pair loss, snippets | ZSL | +1.2 ± 1.9 |' in text
    assert 'mixed: higher on 2 of 3' in text
    assert 'higher on every seed (3/3)' in text
    assert 'significant' not in text.replace('never as significant', '')
    assert json.loads((tmp_path / 'evidence.json').read_text())['seeds'] == \
        [0, 1, 2]
    assert (tmp_path / 'evidence.png').stat().st_size > 0
    assert out['evidence']['run'] == dict(threads=1)
    with pytest.raises(ValueError, match='different methods'):
        aggregate([results[0], dict(results[1],
                                    rows=results[1]['rows'][:2])])


def test_report_evidence_reads_the_finished_seeds(tmp_path):
    results = [_seed(0, 60.0, 62.0, 50.0), _seed(1, 64.0, 63.0, 51.0)]
    for r in results:
        r['info']['timings'] = dict(world=1.5, granzsl=10.0)
        folder = tmp_path / f"seed_{r['info']['index']}"
        folder.mkdir()
        (folder / 'results.json').write_text(json.dumps(r))
    out = report_evidence(str(tmp_path), 2)
    assert out['evidence']['methods'] == aggregate(results)['methods']
    assert out['evidence']['run'] == dict(report_only=True,
                                          seconds_per_seed=[11.5, 11.5])
    assert (tmp_path / 'evidence.md').read_text() == out['text'] + '\n'
    with pytest.raises(FileNotFoundError, match='seed_2'):
        report_evidence(str(tmp_path), 3)


def test_results_table_lists_the_papers_protocol_apart(tmp_path):
    rows = [dict(method='chance (random scores, expected)', zsl_mAP=25.0,
                 gzsl_mAP=20.0),
            dict(method='SigRL', zsl_mAP=50.0, gzsl_mAP=30.0,
                 all_images=dict(zsl_mAP=24.0, gzsl_mAP=30.0))]
    info = dict(num_classes=26, num_seen=21, num_unseen=5, num_test=10,
                all_images_protocol=dict(
                    empty_class='zero', drop_empty_images=False,
                    chance=dict(zsl_mAP=12.0, gzsl_mAP=20.0)))
    out = write_results(str(tmp_path), dict(info=info, rows=rows))
    lines = out['table'].splitlines()
    assert '| SigRL | 50.0 | 2.00 | 30.0 | 1.50 |' in lines
    assert '| SigRL | 24.0 | 2.00 | 30.0 | 1.50 |' in lines
    assert '| chance (random scores, expected) | 12.0 | 1.00 | 20.0 | 1.00 |' \
        in lines
    assert (tmp_path / 'results.md').read_text() == (
        out['header'] + '\n\n' + out['table'] + '\n')
    saved = json.loads((tmp_path / 'results.json').read_text())
    assert saved == dict(info=info, rows=rows)
    assert np.isclose(saved['rows'][1]['all_images']['zsl_mAP'], 24.0)
    assert (tmp_path / 'results.png').stat().st_size > 0


def test_results_figure_values_on_bars_and_a_legend_beside_them():
    import matplotlib.pyplot as plt

    from granzsl_mm.proving_ground.report import results_figure
    rows = _seed(0, 60.0, 62.0, 50.0)['rows']
    fig = results_figure(rows, rows[0])
    ax = fig.axes[0]
    values = [t.get_text() for t in ax.texts]
    # every bar (ZSL and GZSL of each method) carries its value
    assert len(values) == 2 * len(rows)
    assert '60.0' in values and '30.0' in values and '10.0' in values
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert sorted(legend) == sorted(['ZSL mAP', 'GZSL mAP',
                                     'ZSL chance (20.0)',
                                     'GZSL chance (10.0)'])
    fig.canvas.draw()
    assert ax.get_legend().get_window_extent().x0 >= \
        ax.get_window_extent().x1 - 1
    # the longest bar and its value fit inside the axes
    assert ax.get_xlim()[1] > 62.0 * 1.05
    plt.close(fig)


def test_comparators_compared_to_granzsl_the_prompts_and_each_other():
    from granzsl_mm.proving_ground.report import (
        DUALCOOP,
        RECOVER_MATCH,
        TAGCLIP,
    )
    results = []
    for index, (full, prompts, tag, dual, rm) in enumerate(
            [(60.0, 50.0, 52.0, 47.0, 55.0), (64.0, 51.0, 50.0, 49.0, 53.0),
             (59.0, 52.0, 55.0, 46.0, 58.0)]):
        seed = _seed(index, full, full, prompts)
        seed['rows'] += [
            dict(method=name, zsl_mAP=v, gzsl_mAP=v / 2,
                 levels=dict(a=v, b=v - 2.0), **extra)
            for name, v, extra in (
                (TAGCLIP, tag, {}),
                (DUALCOOP, dual, dict(selected=dict(lr=2e-5, epoch=1,
                                                    val=[]))),
                (RECOVER_MATCH, rm, dict(selected=dict(lr=1e-3, epoch=2,
                                                       val=[]))))]
        results.append(seed)
    ev = aggregate(results)
    comp = ev['comparisons']
    for name in (TAGCLIP, DUALCOOP, RECOVER_MATCH):
        assert f'{name} - {PROMPTS}' in comp and f'{FULL} - {name}' in comp
    assert comp[f'{RECOVER_MATCH} - {DUALCOOP}']['zsl_mAP']['values'] == \
        pytest.approx([8.0, 4.0, 12.0])
    assert comp[f'{FULL} - {TAGCLIP}']['gzsl_mAP']['values'] == \
        pytest.approx([4.0, 7.0, 2.0])
    d = comp[f'{TAGCLIP} - {PROMPTS}']['zsl_mAP']
    assert d['every_seed'] == 'mixed' and d['num_higher'] == 2
    assert ev['levels']['methods'][DUALCOOP]['b']['values'] == \
        pytest.approx([45.0, 47.0, 44.0])
    assert ev['selected'][RECOVER_MATCH] == [dict(lr=1e-3, epoch=2)] * 3
    text = render_markdown(ev, {})
    assert f'| {RECOVER_MATCH} - {DUALCOOP} | ZSL | +8.0 ± 4.0 |' in text


def test_taidpt_and_sigmoid_rows_paired_to_the_prompts_and_granzsl(
        tmp_path):
    """TaI-DPT and the SigLIP-style rows are compared to the CLIP prompts
    of their score and to GranZSL; a level without a value in one world
    (its unseen classes without positives, empty_class='skip') is
    summarised over the worlds that have one."""
    from granzsl_mm.proving_ground.report import (
        SIGMOID_BOTH,
        SIGMOID_GLOBAL,
        TAIDPT,
    )
    glob = 'CLIP zero-shot, prompts, global score'
    results = []
    for index, (full, prompts, taidpt, sg, sb) in enumerate(
            [(60.0, 50.0, 45.0, 40.0, 44.0), (64.0, 51.0, 52.0, 42.0, 47.0),
             (59.0, 52.0, 50.0, 41.0, 49.0)]):
        seed = _seed(index, full, full, prompts)
        seed['rows'] += [
            dict(method=glob, zsl_mAP=prompts - 5, gzsl_mAP=prompts / 2 - 5,
                 levels=dict(a=prompts, b=prompts)),
            dict(method=TAIDPT, zsl_mAP=taidpt, gzsl_mAP=taidpt / 2,
                 levels=dict(a=taidpt, b=None if index == 1 else taidpt),
                 selected=dict(lr=2e-5, epoch=2, val=[])),
            dict(method=SIGMOID_GLOBAL, zsl_mAP=sg, gzsl_mAP=sg / 2,
                 levels=dict(a=sg, b=sg)),
            dict(method=SIGMOID_BOTH, zsl_mAP=sb, gzsl_mAP=sb / 2,
                 levels=dict(a=sb, b=sb))]
        results.append(seed)
    ev = aggregate(results)
    comp = ev['comparisons']
    assert comp[f'{TAIDPT} - {PROMPTS}']['zsl_mAP']['values'] == \
        pytest.approx([-5.0, 1.0, -2.0])
    assert comp[f'{FULL} - {TAIDPT}']['zsl_mAP']['every_seed'] == 'higher'
    assert comp[f'{SIGMOID_GLOBAL} - {glob}']['zsl_mAP']['values'] == \
        pytest.approx([-5.0, -4.0, -6.0])
    assert comp[f'{SIGMOID_BOTH} - {PROMPTS}']['gzsl_mAP']['values'] == \
        pytest.approx([-3.0, -2.0, -1.5])
    assert f'{FULL} - {SIGMOID_BOTH}' in comp
    b = ev['levels']['methods'][TAIDPT]['b']
    assert (b['n'], b['values']) == (2, pytest.approx([45.0, 50.0]))
    assert ev['selected'][TAIDPT] == [dict(lr=2e-5, epoch=2)] * 3
    out = write_evidence(str(tmp_path), results, {})
    assert f'| {TAIDPT} - {PROMPTS} | ZSL | -2.0 ± 3.0 |' in out['text']
    assert (tmp_path / 'evidence.png').is_file()
