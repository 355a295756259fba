"""Per-class best / worst images of a prediction dump
(``granzsl_mm.evaluation.result_analysis`` and
``tools/analysis_tools/analyze_results.py``)."""
import json

import numpy as np
import pytest
from PIL import Image

from granzsl_mm.evaluation.prediction_dump import save_predictions
from granzsl_mm.evaluation.result_analysis import (
    analyze_results,
    draw_class_examples,
    select_examples,
)
from tests.fixtures.run_tools import run_tool_in_process

CLASSES = ['red thing', 'green thing', 'blue thing']
COLOURS = [(220, 30, 30), (30, 200, 40), (40, 60, 230)]


def test_select_examples_by_hand():
    scores = np.array([[0.9, 0.1], [0.2, 0.8], [0.9, 0.3], [0.5, 0.3]])
    targets = np.array([[1, 0], [1, 1], [0, -1], [1, 1]])
    got = select_examples(scores, targets, topk=2)
    # class 0: top 0.9 (image 0), 0.9 (image 2: tie, image order), then
    # the lowest-scored positives 0.2 (image 1), 0.5 (image 3)
    assert got[0] == dict(top=[0, 2], worst_positives=[1, 3])
    # class 1: 0.8, then 0.3 of images 2 and 3 (image order); positives
    # 1 and 3, lowest first
    assert got[1] == dict(top=[1, 2], worst_positives=[3, 1])
    with pytest.raises(ValueError, match='same'):
        select_examples(scores, targets[:, :1])


def _world(tmp_path):
    """Six one-colour images; labels = the colour; scores favour it."""
    rows = []
    rng = np.random.default_rng(0)
    for i in range(6):
        c = i % 3
        path = tmp_path / f'img_{i}.png'
        Image.new('RGB', (32, 32), COLOURS[c]).save(path)
        gt = np.zeros(3, np.int8)
        gt[c] = 1
        rows.append(dict(img_path=str(path), gt_score=gt,
                         pred_score=(0.5 * gt + 0.4 * rng.random(3)
                                     ).astype(np.float32)))
    return rows


def test_pictures_show_the_chosen_images_in_colour(tmp_path):
    import matplotlib.pyplot as plt
    rows = _world(tmp_path)
    scores = np.stack([r['pred_score'] for r in rows]).astype(float)
    targets = np.stack([r['gt_score'] for r in rows]).astype(int)
    choice = select_examples(scores, targets, topk=2)[0]
    fig = draw_class_examples('red thing', rows, choice, 0, CLASSES,
                              scores, targets, method='m')
    ax = fig.axes[0]
    # the image shown is the file's RGB (not the reader's BGR)
    shown = ax.get_images()[0].get_array()
    expected = np.asarray(Image.open(rows[choice['top'][0]]['img_path']))
    np.testing.assert_array_equal(shown, expected)
    assert ax.get_title() == \
        f"score {scores[choice['top'][0], 0]:.3f} (positive)"
    assert 'labels: red thing' in ax.get_xlabel()
    assert fig._suptitle.get_text().startswith('red thing: top-scored')
    plt.close(fig)


def test_analyze_results_tool_writes_a_picture_per_class(tmp_path, capsys):
    rows = _world(tmp_path)
    dump = str(tmp_path / 'preds.pth')
    save_predictions(rows, dump)
    split = tmp_path / 'split.json'
    split.write_text(json.dumps(dict(seen=CLASSES[:2], unseen=CLASSES[2:])))
    out = tmp_path / 'analysis'
    code, err = run_tool_in_process(
        'analysis_tools/analyze_results.py',
        [dump, '--classes', str(split), '--out-dir', str(out),
         '--topk', '2'], capsys)
    assert code == 0, err
    pngs = sorted(p.name for p in out.glob('*.png'))
    assert pngs == ['0000_red_thing.png', '0001_green_thing.png',
                    '0002_blue_thing.png']
    summary = json.loads((out / 'summary.json').read_text())
    blue = summary['classes'][2]
    # the two blue images (2 and 5) are the top-scored and the positives
    assert {e['img_path'] for e in blue['top']} == \
        {rows[2]['img_path'], rows[5]['img_path']}
    assert all(e['label'] == 1 for e in blue['worst_positives'])
    scores = [e['score'] for e in blue['worst_positives']]
    assert scores == sorted(scores)
    # a user error: one line, status 2
    code, err = run_tool_in_process(
        'analysis_tools/analyze_results.py',
        [dump, '--classes', str(split), '--out-dir', str(out),
         '--only', 'purple thing'], capsys)
    assert code == 2 and 'purple thing' in err


def test_analyze_results_refuses_a_class_list_of_another_size(tmp_path):
    with pytest.raises(ValueError, match='3 classes'):
        analyze_results(_world(tmp_path), CLASSES[:2], str(tmp_path / 'o'))


def _world_dump(root, path):
    """A dump of a generated world's test images (labels from its
    annotations, noisy scores favouring them)."""
    ann = json.loads(open(f'{root}/annotations/instances_test.json').read())
    split = json.loads(open(f'{root}/split.json').read())
    classes = split['seen'] + split['unseen']
    names = {c['id']: c['name'] for c in ann['categories']}
    labels = {im['id']: set() for im in ann['images']}
    for a in ann['annotations']:
        labels[a['image_id']].add(names[a['category_id']])
    rng = np.random.default_rng(1)
    rows = []
    for im in ann['images']:
        gt = np.array([c in labels[im['id']] for c in classes], np.int8)
        rows.append(dict(img_path=f"{root}/images/{im['file_name']}",
                         gt_score=gt, pred_score=(gt + rng.random(gt.size)
                                                  ).astype(np.float32)))
    save_predictions(rows, path)
    return [r['img_path'] for r in rows]


def test_tool_names_the_images_it_cannot_read(tmp_path, capsys):
    import os

    from granzsl_mm.proving_ground.world_io import build_synthetic_world
    from tests.fixtures.run_tools import run_tool
    root = str(tmp_path / 'world')
    build_synthetic_world(root, num_train=4, num_test=5, seed=7)
    dump = str(tmp_path / 'preds.pth')
    paths = _world_dump(root, dump)
    argv = [dump, '--classes', f'{root}/split.json', '--out-dir',
            str(tmp_path / 'out'), '--topk', '5', '--only', 'circle']

    def run():
        try:
            run_tool('tools/analysis_tools/analyze_results.py', argv)
            return 0, capsys.readouterr().out
        except SystemExit as done:
            return done.code, capsys.readouterr().out

    code, out = run()
    assert code in (0, None), out
    with open(paths[1], 'r+b') as f:  # truncated
        f.truncate(40)
    os.remove(paths[3])
    code, out = run()
    assert code == 1
    assert paths[1] in out and paths[3] in out
    summary = json.loads((tmp_path / 'out' / 'summary.json').read_text())
    assert set(summary['unreadable']) == {paths[1], paths[3]}
