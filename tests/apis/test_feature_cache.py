"""Feature cache: extraction, resume after interruption, scores == predict."""
import os
import os.path as osp

import numpy as np
import pytest
import torch
from mmpretrain.structures import DataSample

from granzsl_mm import register_all_modules
from granzsl_mm.apis.feature_cache import (
    FeatureCache,
    cached_scores,
    evaluate_cached,
    extract_features,
)
from granzsl_mm.evaluation.functional import multilabel_zsl_metrics
from tests.fixtures.tiny_granzsl import NAMES, build_tiny_granzsl


@pytest.fixture(scope='module')
def model():
    return build_tiny_granzsl()


class _Images(torch.utils.data.Dataset):
    """Packed test items (as the test pipeline returns them)."""

    def __init__(self, num=11, fail_at=None):
        g = torch.Generator().manual_seed(0)
        self.images = [torch.randint(0, 256, (3, 32, 32), generator=g,
                                     dtype=torch.uint8) for _ in range(num)]
        self.labels = (torch.rand(num, 5, generator=g) < 0.4).float()
        self.fail_at = fail_at

    def __len__(self):
        return len(self.images)

    def __getitem__(self, i):
        if i == self.fail_at:
            raise RuntimeError('simulated interruption')
        sample = DataSample().set_gt_score(self.labels[i])
        return dict(inputs=self.images[i], data_samples=sample)


def _predict(model, dataset):
    data = dict(inputs=list(dataset.images),
                data_samples=[DataSample() for _ in dataset.images])
    with torch.no_grad():
        out = model.test_step(data)
    return torch.stack([s.pred_score for s in out])


def test_cached_scores_equal_predict_any_vocabulary(model, tmp_path):
    dataset = _Images()
    cache = extract_features(model, dataset, str(tmp_path / 'c'), dense=True,
                             dense_dtype='fp32', batch_size=4,
                             progress=False)
    assert cache.complete and len(cache) == 11
    assert cache.dense_feats.shape[:2] == (11, 16)  # 4 x 4 patches
    np.testing.assert_array_equal(cache.gt_score, dataset.labels.numpy())
    # reopened read-only, memory-mapped
    cache = FeatureCache(str(tmp_path / 'c'))
    assert isinstance(cache.global_feats, np.memmap)
    with torch.no_grad():
        names = model.class_name_embeddings()
    torch.testing.assert_close(cached_scores(cache, names, model.logit_scale,
                                             chunk_size=4),
                               _predict(model, dataset), rtol=1e-5, atol=1e-5)
    # another vocabulary: a subset in another order
    model.set_label_set(['boat', 'cat'])
    try:
        torch.testing.assert_close(
            cached_scores(cache, names[[4, 0]], model.logit_scale),
            _predict(model, dataset),
            rtol=1e-5, atol=1e-5)
    finally:
        model.set_label_set('gzsl')
    glob = cached_scores(cache, names, model.logit_scale,
                         score_mode='global')
    model.score_mode = 'global'
    try:
        torch.testing.assert_close(glob, _predict(model, dataset),
                                   rtol=1e-5, atol=1e-5)
    finally:
        model.score_mode = 'both'
    with pytest.raises(ValueError, match='dim'):
        cached_scores(cache, torch.randn(3, 7), model.logit_scale)
    meta = dict(classes=NAMES, seen_classes=NAMES[:3],
                unseen_classes=NAMES[3:])
    res = evaluate_cached(cache, names, meta, dict(
        type='ZSLMultiLabelMetric', topk=(1, ), drop_empty_images=True),
        logit_scale=model.logit_scale)
    ref = multilabel_zsl_metrics(_predict(model, dataset)[:, 3:],
                                 dataset.labels[:, 3:], topk=(1, ),
                                 drop_empty_images=True)
    assert res['zsl/mAP'] == pytest.approx(ref['mAP'], abs=1e-4)
    assert res['zsl/F1@1'] == pytest.approx(ref['F1@1'], abs=1e-4)


def test_fp16_dense_and_resume_after_interruption(model, tmp_path):
    root = str(tmp_path / 'c16')
    seen = []
    with pytest.raises(RuntimeError, match='simulated'):
        extract_features(model, _Images(fail_at=6), root, dense=True,
                         batch_size=3, progress=False, on_batch=seen.append)
    assert seen == [3, 3]  # two batches written before the failure
    partial = FeatureCache(root)
    assert not partial.complete and partial.missing().tolist() == list(
        range(6, 11))
    with pytest.raises(ValueError, match='incomplete'):
        cached_scores(partial, torch.randn(5, 32), model.logit_scale)
    seen.clear()
    cache = extract_features(model, _Images(), root, dense=True,
                             batch_size=3, progress=False,
                             on_batch=seen.append)
    assert sum(seen) == 5  # only the missing rows were encoded
    assert cache.dense_feats.dtype == np.float16
    with torch.no_grad():
        names = model.class_name_embeddings()
    # fp16 dense features: close to the fp32 prediction, not bit-equal
    torch.testing.assert_close(cached_scores(cache, names,
                                             model.logit_scale),
                               _predict(model, _Images()), rtol=0, atol=5e-2)
    with pytest.raises(ValueError, match='layout'):
        extract_features(model, _Images(), root, dense=False,
                         progress=False)


@pytest.mark.slow
def test_extract_features_tool_matches_runner_test(tmp_path, small_demo_world):
    """tools/extract_features.py: cache the demo test set, then score a
    checkpoint's names from it == tools/test.py's metrics (no TTA)."""
    import importlib.util

    from mmengine.config import Config
    from mmengine.runner import Runner

    from tests.fixtures.tiny_override import tiny_override
    register_all_modules()
    root = osp.join(osp.dirname(__file__), '..', '..')
    cfg = Config.fromfile(osp.join(root, 'configs', 'granzsl_demo.py'))
    tiny_override(cfg, work_dir=str(tmp_path / 'work'),
                  data_root=small_demo_world,
                  extra={'test_dataloader.dataset.indices': 24,
                         'test_evaluator.drop_empty_images': True})
    cfg_path = str(tmp_path / 'cfg.py')
    cfg.dump(cfg_path)
    runner = Runner.from_cfg(cfg)
    ckpt = str(tmp_path / 'names.pth')
    torch.save(dict(state_dict=runner.model.state_dict()), ckpt)
    expected = runner.test()

    spec = importlib.util.spec_from_file_location(
        'extract_features', osp.join(root, 'tools', 'extract_features.py'))
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    args = [cfg_path, '--out-dir', str(tmp_path / 'cache'), '--dense',
            '--dense-dtype', 'fp32', '--num-workers', '0', '--batch-size', '8',
            '--device', 'cpu']
    args.append('--checkpoint')
    metrics = tool.main(args + [ckpt])
    # rerun: the cache is complete (resumed, nothing encoded); other
    # backbone weights (a fresh random CLIP) are refused
    assert tool.main(args + [ckpt]) == metrics
    with pytest.raises(ValueError, match='backbone weights'):
        tool.main(args[:-1])
    assert set(metrics) == set(expected)
    for key, value in expected.items():
        assert metrics[key] == pytest.approx(value, abs=1e-3), key


def test_global_only_default_sizes_and_streaming_eval(model, tmp_path):
    """Default: no dense file; files hold exactly the stated bytes/image;
    the cache scored through the streaming metric == the in-memory one."""
    from granzsl_mm.apis.feature_cache import (
        cache_bytes_per_image,
        describe_cache_size,
    )
    root = tmp_path / 'g'
    cache = extract_features(model, _Images(), str(root), batch_size=4,
                             progress=False)
    assert cache.dense_feats is None and not (root / 'dense.npy').exists()
    per = cache_bytes_per_image(32, None, 5)
    assert per == dict(total=32 * 4 + 5 + 1, **{
        'global': 128, 'dense': 0, 'gt_score': 5, 'done': 1})
    for name, key in (('global.npy', 'global'), ('gt_score.npy', 'gt_score'),
                      ('done.npy', 'done')):
        assert osp.getsize(root / name) == 128 + 11 * per[key]
    assert cache.size_description() == (
        'global 32 fp32 128 B + gt_score 5 int8 5 B + done 1 B = 134 B/image'
        ' x 11 images = 1.4 KiB (0.00 GB)')
    # Open Images with ViT-B/16 (D=512, P=196): 2 KiB + 196 KiB + 7,586 B
    oi = cache_bytes_per_image(512, 196, 7586)
    assert (oi['global'], oi['dense'], oi['total']) == (2048, 200704, 210339)
    assert describe_cache_size(125456, 512, None, 7586).endswith(
        '= 9.4 KiB/image x 125456 images = 1.1 GiB (1.21 GB)')
    assert describe_cache_size(125456, 512, 196, 7586).endswith(
        '(26.39 GB)')
    with torch.no_grad():
        names = model.class_name_embeddings()
    meta = dict(classes=NAMES, seen_classes=NAMES[:3],
                unseen_classes=NAMES[3:])
    kw = dict(topk=(1, 3), drop_empty_images=True)
    ref = evaluate_cached(cache, names, meta, dict(
        type='ZSLMultiLabelMetric', **kw), logit_scale=model.logit_scale,
        score_mode='global')
    got = evaluate_cached(cache, names, meta, dict(
        type='StreamingZSLMultiLabelMetric', **kw),
        logit_scale=model.logit_scale, score_mode='global')
    assert got.keys() == ref.keys()
    for key in ref:
        assert got[key] == pytest.approx(ref[key], abs=1e-9), key


def test_identity_refuses_other_extractions_and_overwrite_recomputes(
        model, tmp_path):
    """Other preprocessing (the data preprocessor's mean) or a cache from
    before identities is refused naming the folder; ``overwrite`` makes it
    again; a folder whose extraction was killed before meta.json is no
    cache (a new extraction fills it)."""
    import json

    from granzsl_mm.apis.feature_cache import FeatureCacheError
    root = str(tmp_path / 'c')
    extract_features(model, _Images(), root, progress=False)
    mean = model.data_preprocessor.mean.clone()
    model.data_preprocessor.mean += 1.0
    try:
        with pytest.raises(FeatureCacheError,
                           match=r'(?s)c was made by .*preprocessing.*'
                           'overwrite=True'):
            extract_features(model, _Images(), root, progress=False)
        cache = extract_features(model, _Images(), root, progress=False,
                                 overwrite=True)
        assert cache.complete
    finally:
        model.data_preprocessor.mean.copy_(mean)
    meta_path = osp.join(root, 'meta.json')
    with open(meta_path) as f:
        meta = json.load(f)
    del meta['identity']
    with open(meta_path, 'w') as f:
        json.dump(meta, f)
    with pytest.raises(FeatureCacheError, match='records no identity'):
        extract_features(model, _Images(), root, progress=False)
    os.remove(meta_path)  # as if killed while creating the files
    with pytest.raises(FileNotFoundError, match='meta.json missing'):
        FeatureCache(root)
    seen = []
    extract_features(model, _Images(), root, progress=False,
                     on_batch=seen.append)
    assert sum(seen) == 11
