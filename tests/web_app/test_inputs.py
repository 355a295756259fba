"""Web-app inputs and rendering (no model, no browser, no gradio)."""
import importlib.util
import json
import os.path as osp
import re
import subprocess
import sys

import numpy as np
import pytest
from matplotlib import colormaps
from PIL import Image

from granzsl_mm.structures.class_lists import COCO_SEEN_48, COCO_UNSEEN_17
from granzsl_mm.web_app import (
    VOCABULARY_PRESETS,
    AppInputError,
    discover_models,
    label_batches,
    overlay_score_map,
    parse_cfg_options,
    parse_vocabulary,
    preset_vocabulary,
    ranking_html,
    read_images,
)

from .conftest import REPO


def test_parse_vocabulary():
    assert parse_vocabulary('cat, dog\n red car ,\n\ncat # a comment\n') == [
        'cat', 'dog', 'red car']
    for empty in ('', None, ' ,\n , ', '# only a comment'):
        with pytest.raises(AppInputError, match='vocabulary is empty'):
            parse_vocabulary(empty)
    words = ', '.join(f'w{i}' for i in range(30))
    assert len(parse_vocabulary(words, max_labels=30)) == 30
    with pytest.raises(AppInputError, match='has 30 labels.*at most 29'):
        parse_vocabulary(words, max_labels=29)


def test_presets(tmp_path):
    assert preset_vocabulary('COCO 48 seen') == list(COCO_SEEN_48)
    assert preset_vocabulary('COCO 17 unseen') == list(COCO_UNSEEN_17)
    assert preset_vocabulary('COCO 48 seen + 17 unseen') == list(
        COCO_SEEN_48 + COCO_UNSEEN_17)
    coco = preset_vocabulary('COCO 80')
    assert len(coco) == 80 and coco[:3] == ['person', 'bicycle', 'car']
    assert set(COCO_SEEN_48 + COCO_UNSEEN_17) < set(coco)
    nus = preset_vocabulary('NUS-WIDE 81')
    assert len(nus) == 81 == len(set(nus))
    world = [k for k in VOCABULARY_PRESETS if k.startswith('Proving')][0]
    with pytest.raises(AppInputError, match='make_demo_data'):
        preset_vocabulary(world, demo_root=str(tmp_path / 'absent'))
    (tmp_path / 'split.json').write_text(json.dumps(
        dict(seen=['a fox', 'owl'], unseen=['newt'])))
    assert preset_vocabulary(world, str(tmp_path)) == ['a fox', 'owl', 'newt']
    with pytest.raises(AppInputError, match='Unknown class list'):
        preset_vocabulary('ImageNet')


def test_label_batches():
    labels = [f'w{i}' for i in range(1100)]
    batches = label_batches(labels, 512)
    assert [len(b) for b in batches] == [512, 512, 76]
    assert sum(batches, []) == labels
    assert label_batches(['a'], 512) == [['a']]
    with pytest.raises(ValueError):
        label_batches(labels, 0)


def test_read_images(tmp_path):
    rgb = np.random.default_rng(0).integers(0, 255, (9, 7, 3), np.uint8)
    png = tmp_path / 'photo.png'
    Image.fromarray(rgb).save(png)
    sub = tmp_path / 'sub'
    sub.mkdir()
    Image.fromarray(rgb).save(sub / 'photo.png')
    tga = tmp_path / 'sprite.tga'
    Image.fromarray(rgb).save(tga)  # cv2 (the pipeline's reader) cannot
    images = read_images([str(png), str(sub / 'photo.png'), str(tga)],
                         work_dir=str(tmp_path / 'converted'))
    assert [n for n, _ in images] == ['photo.png', 'photo.png (2)',
                                      'sprite.tga']
    assert images[0][1] == str(png)
    converted = images[2][1]
    assert converted.endswith('.png') and converted != str(tga)
    assert np.array_equal(np.asarray(Image.open(converted)), rgb)

    bad = tmp_path / 'holiday.jpg'
    bad.write_bytes(b'this is not a picture')
    with pytest.raises(AppInputError,
                       match=r"Cannot read 'holiday.jpg' as an image"):
        read_images([str(png), str(bad)])
    with pytest.raises(AppInputError, match='No image'):
        read_images([])
    with pytest.raises(AppInputError, match='gone'):
        read_images([str(tmp_path / 'missing.png')])


def _rows(page):
    return re.findall(r'<li class="([^"]+)" data-label="([^"]*)" '
                      r'data-score="([^"]*)" data-source="([^"]*)" '
                      r'data-bar="([^"]*)"', page)


def test_ranking_html_highlights_per_source_threshold():
    results = [dict(name='a<b>.png', labels=['x', '<y>', 'z'],
                    scores=[3.0, 1.5, -1.0], sources=['learned', 'prompt',
                                                      'prompt'])]
    page = ranking_html(results, dict(learned=3.5, prompt=1.5))
    assert [(c, label, score, src) for c, label, score, src, _ in
            _rows(page)] == [('gz-row', 'x', '3.0', 'learned'),
                             ('gz-row gz-above', '&lt;y&gt;', '1.5', 'prompt'),
                             ('gz-row', 'z', '-1.0', 'prompt')]
    assert '<y>' not in page and 'a&lt;b&gt;.png' in page
    # one axis for the page, [-1, 3] drawn from zero: signed lengths in %
    bars = [float(b) for *_, b in _rows(page)]
    assert bars == pytest.approx([75.0, 37.5, -25.0], abs=0.01)
    assert 'gz-above' not in ranking_html(results, dict(learned=None))


def test_a_negative_prompt_score_never_draws_a_full_bar():
    """A prompt word at -1.57 beside learned names at 11: a short bar to
    the left of zero, on the learned names' scale, value printed."""
    results = [dict(name='i.png', labels=['cat', 'dog', 'violin'],
                    scores=[11.0, 7.0, -1.57],
                    sources=['learned', 'learned', 'prompt'])]
    page = ranking_html(results)
    bars = {label: float(b) for _, label, _, _, b in _rows(page)}
    assert bars['violin'] == pytest.approx(-100 * 1.57 / 12.57, abs=0.01)
    assert bars['cat'] == pytest.approx(100 * 11 / 12.57, abs=0.01)
    assert '-1.570' in page


def test_default_thresholds_highlight_the_stand_outs():
    """The default is mean + 1 std of a source's scores on the image: a
    few rows, not nearly every row (as threshold 0 would)."""
    import torch

    from granzsl_mm.apis.score_ranking import standout_threshold
    scores = torch.tensor([9.0, 2.0, 1.0, 0.5, 0.4, 0.3, 0.2, 0.1, 0.0, 0.2])
    value = standout_threshold(scores, range(10))
    expected = float(scores.double().mean() + scores.double().std(
        unbiased=False))
    assert value == pytest.approx(expected)
    assert int((scores >= value).sum()) == 1
    assert int((scores >= 0).sum()) == 10
    assert standout_threshold(scores, [0, 1]) is None
    results = [dict(name='i.png', labels=['a', 'b'], scores=[9.0, 2.0],
                    sources=['prompt', 'prompt'],
                    auto_thresholds=dict(prompt=value))]
    page = ranking_html(results)
    assert [c for c, *_ in _rows(page)] == ['gz-row gz-above', 'gz-row']
    assert f'data-threshold="{value!r}"' in page and '(auto' in page


def test_overlay_score_map():
    rng = np.random.default_rng(1)
    image = rng.integers(0, 255, (6, 8, 3), np.uint8)
    score_map = rng.normal(size=(6, 8))
    same, (low, high) = overlay_score_map(image, score_map, alpha=0.0,
                                          side=None)
    assert np.array_equal(same, image)
    assert (low, high) == (score_map.min(), score_map.max())
    colour, _ = overlay_score_map(image, score_map, alpha=1.0, side=None)
    norm = (score_map - low) / (high - low)
    expected = colormaps['jet'](norm.astype(np.float32))[..., :3] * 255
    assert np.abs(colour.astype(float) - expected).max() <= 0.51
    big, _ = overlay_score_map(image, score_map[:2, :2], side=384)
    assert big.shape == (288, 384, 3)
    with pytest.raises(ValueError, match=r'\[h, w\]'):
        overlay_score_map(image, score_map[None])


def test_discover_models(tmp_path):
    configs = tmp_path / 'configs'
    configs.mkdir()
    for name in ('granzsl_demo', 'granzsl_demo_no_pair', 'granzsl_coco',
                 'sigrl_demo', 'clip_zeroshot_demo', 'pretrain_tiny_clip_demo'):
        (configs / f'{name}.py').write_text('')
    run = tmp_path / 'work_dirs' / 'demo' / 'granzsl'  # tools/run_demo.py
    run.mkdir(parents=True)
    (run / 'epoch_5.pth').write_bytes(b'')
    work = str(tmp_path / 'work_dirs')
    world = tmp_path / 'world'
    found = discover_models(str(configs), work, str(world))
    assert found == {
        'clip_zeroshot_demo (random weights)': (
            str(configs / 'clip_zeroshot_demo.py'), '', ''),
        'granzsl_demo (trained)': (str(configs / 'granzsl_demo.py'),
                                   str(run / 'epoch_5.pth'), ''),
        'sigrl_demo (random weights)': (str(configs / 'sigrl_demo.py'), '',
                                        '')}
    world.mkdir()
    (world / 'tiny_clip.pt').write_bytes(b'')
    own = tmp_path / 'work_dirs' / 'sigrl_demo'  # tools/train.py
    own.mkdir()
    (own / 'epoch_1.pth').write_bytes(b'')
    (own / 'last_checkpoint').write_text(str(own / 'epoch_1.pth'))
    found = discover_models(str(configs), work, str(world),
                            clip_weights=str(world / 'tiny_clip.pt'))
    # the CLIP weights are the session's (start-up flag), not a page field
    assert found['clip_zeroshot_demo (world CLIP)'] == (
        str(configs / 'clip_zeroshot_demo.py'), '', '')
    assert found['sigrl_demo (trained)'][1] == str(own / 'epoch_1.pth')


def test_parse_cfg_options():
    assert parse_cfg_options('') == parse_cfg_options(None) == {}
    assert parse_cfg_options(
        'model.backbone.pretrained=data/x.pt\n model.logit_scale=10 '
        'model.tta=True a.b=[1,2]') == {
            'model.backbone.pretrained': 'data/x.pt',
            'model.logit_scale': 10, 'model.tta': True, 'a.b': [1, 2]}
    with pytest.raises(AppInputError, match="key=value, got 'oops'"):
        parse_cfg_options('a=1 oops')


def _cli():
    spec = importlib.util.spec_from_file_location(
        'web_app_cli', osp.join(REPO, 'tools', 'web_app.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_cli_binds_localhost_by_default():
    cli = _cli()
    args = cli.parse_args([])
    assert (args.host, args.config, args.checkpoint) == ('127.0.0.1', None,
                                                         None)
    args = cli.parse_args(['--host', '0.0.0.0', '--port', '8000',
                           '--cfg-options', 'a=1', 'b=x'])
    assert (args.host, args.port, args.cfg_options) == ('0.0.0.0', 8000,
                                                        ['a=1', 'b=x'])


@pytest.mark.slow
def test_core_package_does_not_import_gradio():
    code = ('import sys, granzsl_mm, granzsl_mm.apis, granzsl_mm.web_app; '
            'print(sorted(m for m in ("gradio", "playwright") '
            'if m in sys.modules))')
    out = subprocess.run([sys.executable, '-c', code], cwd=REPO, text=True,
                         capture_output=True, check=True).stdout
    assert out.strip() == '[]'
