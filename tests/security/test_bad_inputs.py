"""Bad input gives a clear error or a counted fix, never a silently wrong
number: images listed twice, signed labels, empty results, truncated or
16-bit images, the pixel limit, broken label pickles and description files."""
import io
import json
import os
import pickle

import numpy as np
import pytest
from PIL import Image

from granzsl_mm import register_all_modules
from granzsl_mm.datasets import (
    COCO80_CLASSES,
    BadImageError,
    COCOZSLDataset,
    find_bad_images,
)
from granzsl_mm.evaluation.metrics import ZSLMultiLabelMetric

COCO_IDS = [i for i in range(1, 91)
            if i not in (12, 26, 29, 30, 45, 66, 68, 69, 71, 83)]
CAT_ID = dict(zip(COCO80_CLASSES, COCO_IDS))
SPLIT = dict(seen=['person', 'dog'], unseen=['cat'])


@pytest.fixture(autouse=True)
def _scope():
    register_all_modules()


def _coco(tmp_path, images, labels):
    """Instances json + images; ``images``: (id, file), ``labels``: id ->
    category names."""
    img_dir = tmp_path / 'images'
    img_dir.mkdir(exist_ok=True)
    anns = []
    for img_id, name in images:
        Image.fromarray(np.full((8, 8, 3), 100, np.uint8)).save(img_dir / name)
        for cat in labels.get(img_id, []):
            anns.append(dict(id=len(anns) + 1, image_id=img_id,
                             category_id=CAT_ID[cat], bbox=[0, 0, 2, 2],
                             area=4.0, iscrowd=0))
    data = dict(images=[dict(id=i, file_name=n, width=8, height=8)
                        for i, n in images], annotations=anns,
                categories=[dict(id=CAT_ID[c], name=c)
                            for c in ('person', 'dog', 'cat')])
    ann = tmp_path / 'ann.json'
    ann.write_text(json.dumps(data))
    return str(ann), str(img_dir)


def _dataset(ann, img_dir, **kwargs):
    return COCOZSLDataset(ann_file=ann, classes=SPLIT,
                          data_prefix=dict(img_path=img_dir), **kwargs)


# images listed twice ------------------------------------------------------
def test_duplicate_images_refused_or_deduplicated(tmp_path):
    images = [(1, 'a.png'), (2, 'b.png'), (2, 'b.png'), (3, 'c.png'),
              (4, 'a.png')]
    ann, img_dir = _coco(tmp_path, images,
                         {1: ['person'], 2: ['dog'], 3: ['cat'], 4: ['cat']})
    with pytest.raises(ValueError) as info:
        _dataset(ann, img_dir)
    text = str(info.value)
    assert '2 image(s) listed more than once' in text
    assert 'a.png (ids 1, 4)' in text and 'b.png (ids 2, 2)' in text
    assert "duplicate_images='dedupe'" in text
    ds = _dataset(ann, img_dir, duplicate_images='dedupe')
    assert ds.num_duplicate_images == 2
    assert [os.path.basename(ds.get_data_info(i)['img_path'])
            for i in range(len(ds))] == ['a.png', 'b.png', 'c.png']
    # a.png: person (id 1) + cat (id 4), merged
    assert ds.get_data_info(0)['gt_score'].tolist() == [1, 0, 1]


# signed labels ------------------------------------------------------------
def _metric(gt, pred=None):
    metric = ZSLMultiLabelMetric(label_sets=['gzsl'], topk=[1])
    metric.dataset_meta = dict(classes=['a', 'b', 'c'], seen_classes=['a', 'b'],
                               unseen_classes=['c'])
    gt = np.asarray(gt, np.float32)
    pred = np.random.default_rng(0).random(gt.shape) if pred is None else pred
    metric.process(None, [dict(pred_score=p, gt_score=g)
                          for p, g in zip(pred, gt)])
    return metric


def test_signed_labels_refused_by_the_metric():
    signed = [[1, -1, -1], [-1, 1, -1], [-1, -1, 1], [1, 1, -1]]
    with pytest.raises(ValueError, match='signed_to_ours'):
        _metric(signed).evaluate(4)
    ours = [[1, 0, -1], [0, 1, 0], [0, 0, 1], [1, 1, 0]]
    assert 'gzsl/mAP' in _metric(ours).evaluate(4)


# a metric without results -------------------------------------------------
def test_metric_on_empty_results_says_why():
    metric = ZSLMultiLabelMetric()
    metric.dataset_meta = dict(classes=['a'], seen_classes=['a'])
    with pytest.raises(ValueError, match='no result to score'):
        metric.evaluate(0)


# truncated and undecodable images -----------------------------------------
def _truncated_jpeg(path):
    buf = io.BytesIO()
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 255, (64, 64, 3), np.uint8)).save(
        buf, 'JPEG', quality=95)
    path.write_bytes(buf.getvalue()[:len(buf.getvalue()) // 2])


def test_verify_decodes_truncated_jpeg(tmp_path):
    good = tmp_path / 'good.png'
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(good)
    bad = tmp_path / 'cut.jpg'
    _truncated_jpeg(bad)
    found = find_bad_images([str(good), str(bad)], 'verify')
    assert [i for i, _ in found] == [1]
    assert found[0][1].startswith('unreadable')


def test_decode_failure_mid_run_follows_skip_policy(tmp_path):
    images = [(1, 'a.png'), (2, 'b.png'), (3, 'c.png')]
    ann, img_dir = _coco(tmp_path, images,
                         {1: ['person'], 2: ['dog', 'cat'], 3: ['cat']})
    pipeline = [dict(type='LoadImageFromFile'), dict(type='PackInputs')]
    ds = _dataset(ann, img_dir, pipeline=pipeline, bad_images='skip')
    with open(os.path.join(img_dir, 'b.png'), 'wb') as f:  # broken later
        f.write(b'\x89PNG\r\n\x1a\n garbage')
    samples = [ds[i]['data_samples'] for i in range(len(ds))]
    assert [bool(s.metainfo.get('image_skipped')) for s in samples] == [
        False, True, False]
    rng = np.random.default_rng(1)
    for s in samples:
        s.set_field(rng.random(3).astype(np.float32), 'pred_score')
    metric = ZSLMultiLabelMetric(label_sets=['gzsl'], topk=[1])
    metric.dataset_meta = ds.metainfo
    metric.process(None, samples)
    got = metric.evaluate(3)
    ref = ZSLMultiLabelMetric(label_sets=['gzsl'], topk=[1])
    ref.dataset_meta = ds.metainfo
    ref.process(None, [samples[0], samples[2]])
    assert got == ref.evaluate(2)
    # in strict mode the same failure names the image
    strict = _dataset(ann, img_dir, pipeline=pipeline, check_images='none')
    with pytest.raises(BadImageError, match='b.png'):
        strict[1]


# 16-bit PNGs --------------------------------------------------------------
def _load(path):
    from granzsl_mm.registry import TRANSFORMS
    loader = TRANSFORMS.build(dict(type='LoadImageFromFile'))
    return loader(dict(img_path=str(path)))['img']


def test_16_bit_png_scaled_by_real_bit_depth(tmp_path):
    import cv2
    rng = np.random.default_rng(0)
    rgb8 = rng.integers(0, 256, (6, 5, 3), dtype=np.uint8)
    bgr8 = rgb8[..., ::-1]
    path = tmp_path / 'deep.png'
    cv2.imwrite(str(path), bgr8.astype(np.uint16))  # values 0-255, 16 bit
    assert Image.open(path).mode.startswith(('I', 'RGB'))
    assert np.array_equal(_load(path), bgr8)
    full = tmp_path / 'full.png'  # genuinely 16-bit: 0-65535 -> 0-255
    cv2.imwrite(str(full), bgr8.astype(np.uint16) * 257)
    assert np.array_equal(_load(full), bgr8)


# one pixel limit for every image reader -----------------------------------
def test_one_pixel_limit_for_image_readers(tmp_path, monkeypatch):
    path = tmp_path / 'wide.png'
    Image.fromarray(np.zeros((50, 40, 3), np.uint8)).save(path)
    assert _load(path).shape == (50, 40, 3)
    monkeypatch.setenv('GRANZSL_MAX_IMAGE_PIXELS', '1999')
    with pytest.raises(ValueError) as info:
        _load(path)
    text = str(info.value)
    assert 'wide.png' in text and '40x50 = 2000 pixels' in text
    assert 'GRANZSL_MAX_IMAGE_PIXELS' in text
    found = find_bad_images([str(path)], 'verify')
    assert found and '2000 pixels' in found[0][1]


# a broken NUS-WIDE label pickle ------------------------------------------
def test_bad_nuswide_label_pickle_names_its_file(tmp_path):
    from granzsl_mm.datasets.zsl.nuswide_metadata import read_label_pickle
    path = tmp_path / 'test_unseen_labels.pkl'
    path.write_bytes(pickle.dumps({'a.jpg': np.array([1, -1, 7]),
                                   'b.jpg': np.array([0, 1, -1])}))
    with pytest.raises(ValueError) as info:
        read_label_pickle(str(path), 3)
    assert str(path) in str(info.value)
    assert 'signed' in str(info.value)


def test_web_app_uploads_share_the_pixel_limit(tmp_path, monkeypatch):
    from granzsl_mm.web_app import AppInputError, read_images
    path = tmp_path / 'big.png'
    Image.fromarray(np.zeros((50, 40, 3), np.uint8)).save(path)
    assert read_images([str(path)]) == [('big.png', str(path))]
    monkeypatch.setenv('GRANZSL_MAX_IMAGE_PIXELS', '1999')
    with pytest.raises(AppInputError) as info:
        read_images([str(path)])
    assert 'big.png' in str(info.value) and str(tmp_path) not in str(
        info.value)
    assert '2000 pixels' in str(info.value)


# a description file that is not UTF-8 -------------------------------------
def test_non_utf8_description_file_names_the_file_and_the_fix(tmp_path):
    from granzsl_mm.datasets import DescriptionError, load_descriptions
    path = tmp_path / 'desc.json'
    path.write_bytes('{"format": "granzsl_mm.descriptions/v1", "classes": '
                     '{"caf\u00e9": {"sentences": ["a caf\u00e9"]}}}'
                     .encode('latin1'))
    with pytest.raises(DescriptionError) as info:
        load_descriptions(str(path))
    text = str(info.value)
    assert str(path) in text and 'UTF-8' in text and '0xe9' in text
    assert 're-save it as UTF-8' in text


# the inferencer shares the pixel limit ------------------------------------
def test_inferencer_images_share_the_pixel_limit(tmp_path, monkeypatch):
    from granzsl_mm.apis.image_inputs import load_image
    from granzsl_mm.utils.image_io import ImageTooLargeError
    path = tmp_path / 'big.png'
    Image.fromarray(np.zeros((50, 40, 3), np.uint8)).save(path)
    assert load_image(str(path))['img'].shape == (50, 40, 3)
    monkeypatch.setenv('GRANZSL_MAX_IMAGE_PIXELS', '1999')
    with pytest.raises(ImageTooLargeError) as info:
        load_image(str(path))
    assert str(path) in str(info.value) and '2000 pixels' in str(info.value)
    (tmp_path / 'empty.jpg').write_bytes(b'')
    with pytest.raises(ValueError, match='empty.jpg: the file is empty'):
        load_image(str(tmp_path / 'empty.jpg'))
