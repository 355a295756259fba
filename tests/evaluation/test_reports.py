"""Report helpers: interpolated mean PR curve and AP by level (by hand)."""
import numpy as np
import pytest

from granzsl_mm.evaluation.reports import ap_by_level, mean_pr_curve


def test_mean_pr_curve_hand_computed():
    # class 0 ranking: + - + -  -> precision 1, 1/2, 2/3, 1/2 at recall
    # 1/2, 1/2, 1, 1; interpolated (max precision at recall >= r):
    # r=0 -> 1, r=0.5 -> 1, r=1 -> 2/3.  class 1: the positive ranked 2nd
    # -> 1/2 at every r.  Unknown (-1) entries and empty classes ignored.
    scores = np.array([[0.9, 0.9], [0.8, 0.8], [0.7, 0.1], [0.1, 0.5],
                       [0.95, 0.0]])
    targets = np.array([[1, 0], [0, 1], [1, 0], [0, 0], [-1, -1]])
    rec, prec = mean_pr_curve(scores[:, :1], targets[:, :1], num_points=3)
    np.testing.assert_allclose(rec, [0, 0.5, 1])
    np.testing.assert_allclose(prec, [1, 1, 2 / 3])
    _, both = mean_pr_curve(scores, targets, num_points=3)
    np.testing.assert_allclose(both, [(1 + .5) / 2, (1 + .5) / 2,
                                      (2 / 3 + .5) / 2])
    empty = np.zeros((5, 1), dtype=int)
    _, with_empty = mean_pr_curve(np.c_[scores, scores[:, :1]],
                                  np.c_[targets, empty], num_points=3)
    np.testing.assert_allclose(with_empty, both)


def test_ap_by_level_ignores_empty_classes():
    ap = np.array([10.0, np.nan, 30.0, 50.0])
    res = ap_by_level(ap, np.array([0, 0, 1, 1]))
    assert res[0] == dict(mAP=pytest.approx(10.0), num_classes=1)
    assert res[1] == dict(mAP=pytest.approx(40.0), num_classes=2)


def _texts(fig):
    """Title, tick labels, legend entries and bar values of a figure."""
    ax = fig.axes[0]
    legend = ax.get_legend()
    return dict(
        title=ax.get_title(),
        xticks=[t.get_text() for t in ax.get_xticklabels()],
        legend=[t.get_text() for t in legend.get_texts()] if legend else [],
        values=[t.get_text() for t in ax.texts])


def test_class_chance_ap_is_the_expected_random_ap():
    from granzsl_mm.evaluation.functional import expected_random_ap
    from granzsl_mm.evaluation.reports import class_chance_ap
    targets = np.array([[1, 0, 0], [0, 0, -1], [1, 0, 0], [0, 0, 1]])
    chance = class_chance_ap(targets)
    assert chance[0] == pytest.approx(100 * expected_random_ap(2, 4))
    assert np.isnan(chance[1])  # no positive: no chance tick
    assert chance[2] == pytest.approx(100 * expected_random_ap(1, 3))
    # the metric's drop_empty_images protocol: image 2 (no positive) goes
    dropped = class_chance_ap(targets, drop_empty_images=True)
    assert dropped[0] == pytest.approx(100 * expected_random_ap(2, 3))


def test_per_class_chart_names_classes_legend_and_chance():
    import matplotlib.pyplot as plt

    from granzsl_mm.evaluation.reports import bars_figure
    names = ['blue circle', 'red ring', 'a rather long class name']
    ap = np.array([70.0, np.nan, 35.5])
    fig = bars_figure(names, ap, np.zeros(3, bool), 'zsl',
                      chance=np.array([20.0, np.nan, 10.0]),
                      method='GranZSL, snippets')
    t = _texts(fig)
    # the ZSL chart has no seen bar: no "seen" in title or legend
    assert t['title'] == 'per-class AP (zsl): GranZSL, snippets'
    assert 'seen' not in t['title'] and 'blue' not in t['title']
    assert t['legend'] == ['unseen class', 'chance (random scores)']
    assert t['xticks'] == names
    ticks = fig.axes[0].get_xticklabels()
    assert all(lb.get_fontsize() >= 8 and lb.get_rotation() == 45
               for lb in ticks)
    assert t['values'] == ['70.0', '', '35.5']
    # the legend is outside the axes: it covers no bar
    fig.canvas.draw()
    legend_box = fig.axes[0].get_legend().get_window_extent()
    assert legend_box.x0 >= fig.axes[0].get_window_extent().x1 - 1
    plt.close(fig)
    fig = bars_figure(names, ap, np.array([True, True, False]), 'gzsl')
    assert _texts(fig)['legend'] == ['seen class', 'unseen class']
    assert _texts(fig)['title'] == 'per-class AP (gzsl)'
    plt.close(fig)


def test_level_and_pr_charts_name_levels_and_method():
    import matplotlib.pyplot as plt

    from granzsl_mm.evaluation.reports import levels_figure, pr_figure
    by_level = dict(zsl={'2': dict(mAP=71.0, num_classes=5)},
                    gzsl={'0': dict(mAP=75.5, num_classes=2),
                          '2': dict(mAP=70.0, num_classes=10)})
    fig = levels_figure(by_level, ['group', 'shape', 'colour shape'],
                        method='MKT (stage 1)')
    t = _texts(fig)
    assert t['xticks'] == ['group', 'colour shape']
    assert 'MKT (stage 1)' in t['title']
    assert t['legend'] == ['zsl', 'gzsl']
    assert '75.5' in t['values'] and '71.0' in t['values']
    # zsl has no class at level 0: its slot says so
    assert t['values'].count('none') == 1
    plt.close(fig)
    # no names known: the indices, said so
    fig = levels_figure(by_level)
    assert _texts(fig)['xticks'] == ['level 0', 'level 2']
    plt.close(fig)
    grid = np.linspace(0, 1, 5)
    fig = pr_figure(dict(zsl=(grid, grid)), method='SigRL')
    assert _texts(fig)['title'] == 'mean precision-recall: SigRL'
    plt.close(fig)


def test_write_reports_draws_level_names_and_chance(tmp_path):
    from granzsl_mm.evaluation.reports import write_reports
    rng = np.random.default_rng(0)
    targets = (rng.random((30, 4)) < 0.4).astype(np.int8)
    scores = rng.random((30, 4))
    idx = np.arange(4)
    meta = dict(classes=['a', 'b', 'c', 'd'], seen_classes=['a', 'b'],
                class_levels=[0, 1, 0, 1], level_names=['coarse', 'fine'])
    paths = write_reports(str(tmp_path), dict(gzsl=(idx, np.full(4, 50.0))),
                          dict(gzsl=(scores, targets, idx)), meta,
                          method='m')
    for key in ('bars_gzsl', 'ap_by_level', 'pr_curve'):
        assert (tmp_path / paths[key].split('/')[-1]).stat().st_size > 1000


def test_plot_titles_default_to_the_runs_experiment_name():
    from mmengine.logging import MessageHub

    from granzsl_mm.evaluation.metrics.zsl_multilabel_metric import (
        _experiment_name,
    )
    # mmengine's Runner names its hub '<config stem>_<time stamp>'
    name = 'clip_zeroshot_demo_20261205_051024'
    MessageHub.get_instance(name)
    try:
        assert _experiment_name() == 'clip_zeroshot_demo'
    finally:  # later tests see no hub of this one
        MessageHub._instance_dict.pop(name, None)
