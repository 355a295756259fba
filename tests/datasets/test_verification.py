"""The dataset check before a long run (``granzsl_mm.datasets.verification``,
``tools/misc/verify_dataset.py``): every image decoded, released split files
and counts against their published values."""
import json
import os
import os.path as osp
import shutil

import pytest

from granzsl_mm.datasets.published_values import BENCHMARKS
from granzsl_mm.datasets.verification import (
    DIFFERS,
    OK,
    build_unchecked,
    format_table,
    has_differences,
    sha256_of,
    verify_dataset,
)
from tests.fixtures.run_tools import REPO

SHARED = osp.join(REPO, '..', 'shared', 'data')
DEMO = osp.join(REPO, 'configs', 'granzsl_demo.py')


def _released(key, name):
    return next(f for f in BENCHMARKS[key].files if f.name == name)


@pytest.mark.parametrize('key,folder,name', [
    ('coco_48_17', 'coco', 'cls_ids.pickle'),
    ('nuswide_925_81', 'nuswide', 'Concepts81.txt'),
    ('nuswide_925_81', 'nuswide', 'TagList1k.txt')])
def test_recorded_digests_are_those_of_the_released_files(key, folder, name):
    path = osp.join(SHARED, folder, name)
    if not osp.isfile(path):
        pytest.skip(f'reference copy of {name} absent')
    f = _released(key, name)
    assert sha256_of(path) == f.sha256
    assert os.path.getsize(path) == f.size


def test_every_expected_value_names_its_source():
    for bench in BENCHMARKS.values():
        for f in bench.files:
            assert f.source and (f.sha256 or 'not checked here' in f.note)
        for count in [bench.seen, bench.unseen, *bench.image_folders.values(),
                      *bench.list_files.values()]:
            assert count.source and count.value > 0


@pytest.fixture
def world(tmp_path):
    from granzsl_mm.proving_ground.world_io import build_synthetic_world
    root = str(tmp_path / 'world')
    build_synthetic_world(root, num_train=4, num_test=6, seed=7)
    return root


def _run(root, capsys):
    """The tool on the demo config pointed at ``root``: (status, stdout)."""
    from tests.fixtures.run_tools import run_tool
    try:
        run_tool('tools/misc/verify_dataset.py',
                 [DEMO, '--no-progress', '--cfg-options',
                  f'test_dataloader.dataset.data_root={root}'])
        code = 0
    except SystemExit as exit_:
        code = exit_.code
    return code, capsys.readouterr().out


def _break(world):
    """Truncate one test image, delete another; their paths."""
    images = osp.join(world, 'images')
    corrupt = osp.join(images, 'test_00001.png')
    with open(corrupt, 'r+b') as f:
        f.truncate(40)
    missing = osp.join(images, 'test_00004.png')
    os.remove(missing)
    return corrupt, missing


def test_tool_exit_status_and_named_images(world, capsys):
    code, out = _run(world, capsys)
    assert code == 0, out
    assert 'everything checked matches' in out
    corrupt, missing = _break(world)
    code, out = _run(world, capsys)
    assert code == 1
    assert f'image {corrupt}' in out and f'image {missing}' in out
    assert '2 check(s) differ' not in out  # images, folder count, 2 images
    assert '4 check(s) differ' in out


def test_table_names_both_bad_images(world):
    from mmengine.config import Config

    from granzsl_mm import register_all_modules
    register_all_modules()
    images = osp.join(world, 'images')
    _break(world)
    cfg = Config.fromfile(DEMO).test_dataloader.dataset
    cfg.data_root = world
    rows = verify_dataset(build_unchecked(cfg), progress=False)
    assert has_differences(rows)
    bad = {r.check: r.found for r in rows if r.check.startswith('image ')}
    assert set(bad) == {f"image {osp.join(images, 'test_00001.png')}",
                        f"image {osp.join(images, 'test_00004.png')}"}
    assert bad[f"image {osp.join(images, 'test_00004.png')}"] == 'missing'
    assert bad[f"image {osp.join(images, 'test_00001.png')}"].startswith(
        'unreadable')
    counts = {r.check: r for r in rows}
    assert counts['images decoded'].found == '4'
    # the world still lists 6 test images; 5 files are left in the folder
    assert counts['test images listed'].status == OK
    assert counts['test_* files in images/'].found == '5'
    assert counts['test_* files in images/'].status == DIFFERS
    table = format_table(rows)
    assert 'test_00004.png' in table and 'test_00001.png' in table
    assert "world.json (the generator's record)" in table


def test_coco_released_split_file_and_published_counts(tmp_path):
    """A COCO 48/17 dataset: the released cls_ids.pickle passes, one changed
    byte differs; the image folder is compared with COCO's 40,504."""
    src = osp.join(SHARED, 'coco', 'cls_ids.pickle')
    cats = osp.join(SHARED, 'coco', 'categories.json')
    if not (osp.isfile(src) and osp.isfile(cats)):
        pytest.skip('reference COCO split files absent')
    from PIL import Image

    from granzsl_mm import register_all_modules
    register_all_modules()
    root = tmp_path / 'coco'
    (root / 'annotations').mkdir(parents=True)
    (root / 'val2014').mkdir()
    with open(cats) as f:
        categories = json.load(f)
    images = [dict(id=i, file_name=f'COCO_val2014_{i:012d}.jpg', width=8,
                   height=8) for i in (1, 2)]
    for im in images:
        Image.new('RGB', (8, 8), (200, 10, 10)).save(
            root / 'val2014' / im['file_name'])
    ann = dict(images=images, categories=categories, annotations=[
        dict(id=i, image_id=i, category_id=1, bbox=[0, 0, 4, 4], area=16,
             iscrowd=0) for i in (1, 2)])
    (root / 'annotations' / 'test.json').write_text(json.dumps(ann))
    shutil.copy(src, root / 'cls_ids.pickle')
    cfg = dict(type='COCOZSLDataset', data_root=str(root),
               ann_file='annotations/test.json',
               data_prefix=dict(img_path='val2014'),
               split_file='cls_ids.pickle', pipeline=[])
    rows = {r.check: r for r in verify_dataset(build_unchecked(cfg),
                                               progress=False)}
    assert rows['sha256 cls_ids.pickle'].status == OK
    assert (rows['seen classes'].found, rows['unseen classes'].found) == \
        ('48', '17')
    assert rows['files in val2014/'].expected == '40,504'
    assert rows['files in val2014/'].status == DIFFERS  # 2 of 40,504
    assert 'cocodataset.org' in rows['files in val2014/'].source
    assert rows['images decoded'].status == OK
    # the papers' test jsons: no copy here, said so
    assert 'no copy available' in \
        rows['sha256 instances_val2014_gzsi_48_17.json'].source
    # one byte more after the pickle's end: it still loads, but it is not
    # the released file
    with open(root / 'cls_ids.pickle', 'ab') as f:
        f.write(b'\n')
    changed = {r.check: r for r in verify_dataset(
        build_unchecked(cfg), decode=False)}
    assert changed['sha256 cls_ids.pickle'].status == DIFFERS
