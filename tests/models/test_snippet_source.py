"""Snippets cut as GranZSL's reference cuts them (``snippet_source=
'pipeline'`` with the ``CutSnippets`` transform) against RCNn's own steps.

The reference is re-implemented below from wangshouwen/RCNn@f257645:
``datasets/coco.py`` (``CocoDetection.__getitem__``: ``Image.open(path)
.convert('RGB')``; ``CutImageplus``, copied as written) and
``datasets/__init__.py`` (``get_transforms(cfg)['test']``: ``Resize((224,
224))``, ``ToTensor``, ``Normalize`` with CLIP's mean and std).
"""
import os.path as osp

import numpy as np
import pytest
import torch
import torchvision.transforms as transforms
from mmengine.config import Config
from mmengine.dataset import Compose, pseudo_collate
from mmpretrain.structures import DataSample
from PIL import Image

from granzsl_mm import register_all_modules
from granzsl_mm.models.tta import cut_snippets, snippet_boxes, snippet_predict
from granzsl_mm.registry import MODELS, TRANSFORMS

ROOT = osp.join(osp.dirname(__file__), '..', '..')
CONFIG = 'granzsl_coco_select_on_test.py'


def CutImageplus(img, img_size=224, count_list=[2, 3]):  # noqa: B006, N802
    """RCNn's function (datasets/coco.py), as written there."""
    img = img.resize((img_size, img_size))
    box_list = []
    for count in count_list:
        temp_width = int(img_size / count)
        for i in range(0, count):
            for j in range(0, count):
                box = (j * temp_width, i * temp_width, (j + 1) * temp_width,
                       (i + 1) * temp_width)
                box_list.append(box)
    image_list = [img.crop(box) for box in box_list]
    return image_list


def rcnn_views(path, size=224, count_list=(2, 3)):
    """RCNn's test views of one image: the full view and its snippets."""
    transform = transforms.Compose([
        transforms.Resize((size, size)),
        transforms.ToTensor(),
        transforms.Normalize((0.48145466, 0.4578275, 0.40821073),
                             (0.26862954, 0.26130258, 0.27577711)),
    ])
    img = Image.open(path).convert('RGB')
    img_ = transform(img)
    img_list = CutImageplus(img, img_size=size, count_list=list(count_list))
    return img_, torch.stack([transform(image) for image in img_list])


def _generated_image(path, seed=0):
    """Flat blocks, a gradient and sharp edges, not square, lossless."""
    rng = np.random.default_rng(seed)
    blocks = rng.integers(0, 256, (9, 12, 3), dtype=np.uint8)
    img = np.asarray(Image.fromarray(blocks).resize((311, 237),
                                                    Image.NEAREST)).copy()
    img[:, :, 1] = np.clip(img[:, :, 1].astype(int)
                           + np.arange(311)[None] // 3, 0, 255)
    img[100:121, 40:260] = (255, 255, 0)
    img[30:200, 150:153] = 0
    Image.fromarray(img).save(path)
    return path


class _Recorder(torch.nn.Module):
    """The parts of GranZSL that snippet_predict uses; records the views."""

    def __init__(self, data_preprocessor):
        super().__init__()
        self.data_preprocessor = data_preprocessor
        self.logit_scale, self.score_mode = 20.0, 'both'
        self.views = None

    def view_cosines(self, views):
        self.views = views.clone()
        n = views.shape[0]
        return torch.zeros(n, 2, 3, 3), torch.zeros(n, 2)

    def pack_predictions(self, scores, data_samples):
        return data_samples


def _our_views(path, source, snippet_resize='bilinear'):
    """The views the select-on-test config's model encodes for ``path``."""
    register_all_modules()
    cfg = Config.fromfile(osp.join(ROOT, 'configs', CONFIG))
    pipeline = Compose(cfg.val_dataloader.dataset.pipeline)
    data = pseudo_collate([pipeline(dict(img_path=path))])
    module = _Recorder(MODELS.build(cfg.model.data_preprocessor))
    snippet_predict(module, data, cfg.model.val_grids, snippet_resize,
                    snippet_source=source)
    return module.views[0], module.views[1:]


def test_pipeline_snippets_are_rcnns(tmp_path):
    """With the option on, every view the model encodes equals RCNn's
    (the same uint8 pixels; 1e-5 is float rounding of the normalisation,
    one grey level is 0.015); cut from the test tensor they differ."""
    path = _generated_image(str(tmp_path / 'generated.png'))
    full_ref, snippets_ref = rcnn_views(path)
    assert snippets_ref.shape == (13, 3, 224, 224)
    full, snippets = _our_views(path, 'pipeline')
    torch.testing.assert_close(full, full_ref, rtol=0, atol=1e-5)
    torch.testing.assert_close(snippets, snippets_ref, rtol=0, atol=1e-5)
    # ours by default: the same boxes cut from the bilinear test tensor
    full_b, snippets_b = _our_views(path, 'batch')
    torch.testing.assert_close(full_b, full_ref, rtol=0, atol=1e-5)
    diff = (snippets_b - snippets_ref).abs()
    assert diff.max() > 0.25  # over 15 grey levels at the edges
    assert diff.mean() > 0.002


def test_transform_boxes_and_shapes(tmp_path):
    from granzsl_mm.datasets import CutSnippets
    for grids, size in (((2, 3), 224), ((2, ), 48), ((3, ), 32)):
        t = CutSnippets(grids=grids, size=size)
        assert t.boxes() == snippet_boxes(size, grids)
    img = np.zeros((50, 70, 3), np.uint8)
    out = CutSnippets(grids=(2, ), size=48)(dict(img=img))
    assert out['snippets'].shape == (4, 48, 48, 3)
    assert out['snippets'].dtype == np.uint8
    with pytest.raises(TypeError, match='uint8'):
        CutSnippets()(dict(img=img.astype(np.float32)))
    with pytest.raises(ValueError, match='grids'):
        CutSnippets(grids=(300, ), size=224)
    register_all_modules()
    assert type(TRANSFORMS.build(dict(type='CutSnippets'))) is CutSnippets


def _tiny_batch(size=32, count=2):
    """Two generated images, packed with their pipeline snippets."""
    from granzsl_mm.datasets import CutSnippets
    rng = np.random.default_rng(4)
    cut = CutSnippets(grids=(2, ), size=size)
    inputs, samples = [], []
    for _ in range(count):
        img = rng.integers(0, 256, (41, 53, 3), dtype=np.uint8)
        snippets = cut(dict(img=img))['snippets']
        resized = np.asarray(Image.fromarray(img).resize((size, size),
                                                         Image.BILINEAR))
        inputs.append(torch.from_numpy(resized).permute(2, 0, 1).contiguous())
        sample = DataSample()
        sample.set_field(snippets, 'snippets')
        samples.append(sample)
    return dict(inputs=inputs, data_samples=samples)


def test_models_use_the_pipeline_snippets():
    """SnippetTTAModel and GranZSLSnippetVal score the views they carry
    (equal scores), drop the large field, and name what is missing."""
    from tests.fixtures.tiny_granzsl import build_tiny_granzsl
    model = build_tiny_granzsl(type='GranZSLSnippetVal', val_grids=(2, ),
                               val_snippet_source='pipeline',
                               val_views_per_call=None)  # one call to spy
    tta = MODELS.build(dict(type='SnippetTTAModel', module=model,
                            grids=(2, ), snippet_source='pipeline'))
    data = _tiny_batch()
    seen = []
    real = model.view_cosines

    def spy(views):
        seen.append(views)
        return real(views)

    model.view_cosines = spy
    got = model.val_step(data)
    assert all('snippets' not in s for s in got)
    want = tta.test_step(_tiny_batch())
    torch.testing.assert_close(torch.stack([s.pred_score for s in got]),
                               torch.stack([s.pred_score for s in want]))
    # the snippets encoded are the carried ones, preprocessed
    carried = _tiny_batch()
    crops = [torch.from_numpy(c).permute(0, 3, 1, 2) for c in
             (s.snippets for s in carried['data_samples'])]
    expected = model.data_preprocessor(
        dict(inputs=list(torch.cat(crops))), False)['inputs']
    views = seen[0].reshape(2, 5, 3, 32, 32)
    torch.testing.assert_close(views[:, 1:].flatten(0, 1), expected)
    # cut from the batch instead, the same boxes give other pixels
    batch = model.data_preprocessor(_tiny_batch(), False)['inputs']
    assert not torch.allclose(cut_snippets(batch, (2, ), mode='bilinear'),
                              views[:, 1:])
    bare = _tiny_batch()
    for s in bare['data_samples']:
        s.pop('snippets')
    with pytest.raises(ValueError, match='CutSnippets'):
        model.val_step(bare)
    with pytest.raises(ValueError, match='snippet_source'):
        MODELS.build(dict(type='SnippetTTAModel', module=model,
                          snippet_source='disk'))
