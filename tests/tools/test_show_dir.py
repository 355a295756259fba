"""tools/test.py --show-dir draws the run's predictions beside each image,
for the zero-shot and GranZSL families; --show without a display exits 2."""
import os.path as osp

import numpy as np
import pytest
from PIL import Image

from tests.fixtures.run_tools import REPO, run_tool, run_tool_in_process

FAMILIES = ['clip_zeroshot_demo', 'granzsl_demo']


@pytest.fixture(scope='module')
def world(tmp_path_factory):
    from granzsl_mm.proving_ground.world_io import build_synthetic_world
    root = str(tmp_path_factory.mktemp('show_world') / 'world')
    build_synthetic_world(root, num_train=4, num_test=4, seed=7)
    return root


@pytest.mark.slow
@pytest.mark.parametrize('name', FAMILIES)
def test_show_dir_pictures_hold_the_run_predictions(world, tmp_path, name):
    from granzsl_mm.apis.dataset_meta import dataset_meta_from_config
    from granzsl_mm.apis.label_drawing import (
        KIND_COLOURS,
        draw_label_panel,
        sample_sections,
    )
    from granzsl_mm.evaluation.prediction_dump import load_predictions
    from granzsl_mm.utils.image_io import read_image
    config = osp.join(REPO, 'configs', name + '.py')
    dump = str(tmp_path / 'preds.pkl')
    options = [f'test_dataloader.dataset.data_root={world}',
               'model.backbone.pretrained=random']
    from mmengine.config import Config
    if isinstance(Config.fromfile(config).model.get('class_names'), str):
        # the world's class file, not data/demo's (absent on a clean clone)
        options.append(f'model.class_names={world}/split.json')
    try:
        run_tool('tools/test.py', [config, 'none', '--work-dir',
                                   str(tmp_path / 'work'), '--show-dir',
                                   'vis', '--out', dump, '--cfg-options',
                                   *options])
    except SystemExit as exit_:
        assert exit_.code in (0, None)
    rows = load_predictions(dump)
    from mmengine.config import Config
    cfg = Config.fromfile(config)
    cfg.merge_from_dict({options[0].split('=')[0]: world})
    meta = dataset_meta_from_config(cfg)
    assert len(rows) == 4
    for row in rows:
        name_ = osp.basename(row['img_path'])
        path = osp.join(tmp_path, 'work', 'vis', name_ + '_0.png')
        picture = np.asarray(Image.open(path).convert('RGB'))
        original = read_image(row['img_path'])[..., ::-1]
        side = min(original.shape[:2])
        size = (original.shape[1] * 384 // side, original.shape[0] * 384 //
                side)
        resized = np.asarray(Image.fromarray(np.ascontiguousarray(
            original)).resize(size, Image.BICUBIC))
        # the image at a readable size, nothing drawn over it
        assert np.array_equal(picture[:size[1], :size[0]], resized)
        # the panel: this run's top-5 and ground truth, as the dump has them
        sections = sample_sections(row, meta, topk=5)
        top = [line[0] for line in sections[0][1]]
        order = np.argsort(-np.asarray(row['pred_score']), kind='stable')
        assert top == [meta['classes'][i] for i in order[:5]]
        expected = draw_label_panel(original, sections, title=name_)
        assert np.array_equal(picture, expected)
        # unseen lines in red exactly when an unseen class is listed
        unseen = set(meta['unseen_classes'])
        listed = top + [line[0] for line in sections[1][1]]
        red = np.abs(picture[:, size[0]:].astype(int) - np.array(
            [0xc6, 0x28, 0x28])).max(-1) < 40
        assert red.any() == bool(unseen & set(listed))
        assert KIND_COLOURS['unseen'] == '#c62828'


def test_show_without_a_display_exits_2(monkeypatch, capsys):
    monkeypatch.delenv('DISPLAY', raising=False)
    monkeypatch.delenv('WAYLAND_DISPLAY', raising=False)
    code, err = run_tool_in_process(
        'test.py', [osp.join(REPO, 'configs', 'granzsl_demo.py'), 'none',
                    '--show'], capsys)
    assert code == 2
    assert '--show needs a display' in err and '--show-dir' in err
