"""ONNX export: one graph image -> scores equals PyTorch within 1e-4."""
import os.path as osp

import pytest
import torch
from mmengine.config import Config

from granzsl_mm.apis import get_model
from granzsl_mm.apis.onnx_export import (
    ScoresGraph,
    compare_with_onnxruntime,
    export_onnx,
)
from granzsl_mm.models.classifiers import ZeroShotMultiLabelClassifier
from tests.fixtures.tiny_granzsl import build_tiny_granzsl

pytest.importorskip('onnxruntime')
REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(REPO, 'tests', 'fixtures', 'configs',
                  'clip_zeroshot_tiny.py')


@pytest.fixture(scope='module')
def zero_shot():
    torch.manual_seed(0)
    model = get_model(Config.fromfile(CONFIG))
    model.set_vocabulary(['cat', 'dog', 'zebra', 'red car'])
    return model


@pytest.fixture(scope='module')
def images():
    torch.manual_seed(1)
    return torch.randint(0, 256, (3, 3, 32, 32)).float()


@pytest.mark.parametrize('grids,resize', [(None, 'bicubic'),
                                          ((2, 3), 'bicubic')])
def test_zero_shot_onnx_equals_pytorch(zero_shot, images, tmp_path, grids,
                                       resize):
    graph = ScoresGraph(zero_shot, grids=grids, snippet_resize=resize)
    path = export_onnx(graph, str(tmp_path / 'm.onnx'), image_size=32)
    # the graph itself is the model's own scoring
    inputs = zero_shot.data_preprocessor(dict(inputs=list(images)),
                                         False)['inputs']
    ref = (zero_shot(inputs, mode='tensor') if grids is None else None)
    if ref is not None:
        assert torch.allclose(graph(images), ref, atol=1e-5)
    assert compare_with_onnxruntime(graph, path, images) < 1e-4


def test_granzsl_onnx_with_snippets(images, tmp_path):
    view = ZeroShotMultiLabelClassifier.from_granzsl(build_tiny_granzsl())
    graph = ScoresGraph(view, grids=(2, ), snippet_resize='bilinear')
    with torch.no_grad():
        pre = graph.preprocess(images)
        assert not torch.allclose(graph(images),
                                  view.snippet_scores(pre, (2, )), atol=1e-5)
        graph.snippet_resize = 'bicubic'  # the model's own snippet resize
        assert torch.allclose(graph(images), view.snippet_scores(pre, (2, )),
                              atol=1e-5)
        graph.snippet_resize = 'bilinear'
    path = export_onnx(graph, str(tmp_path / 'g.onnx'), image_size=32)
    assert compare_with_onnxruntime(graph, path, images) < 1e-4


def test_snippets_need_opset_18(zero_shot, tmp_path):
    with pytest.raises(ValueError, match='opset >= 18'):
        export_onnx(ScoresGraph(zero_shot, grids=(2, )),
                    str(tmp_path / 'x.onnx'), 32, opset=17)


def test_export_tool(tmp_path, monkeypatch, capsys):
    import importlib.util
    import json
    spec = importlib.util.spec_from_file_location(
        'export_onnx', osp.join(REPO, 'tools', 'deployment', 'export_onnx.py'))
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    out = str(tmp_path / 'tiny.onnx')
    monkeypatch.setattr('sys.argv', ['export_onnx.py', CONFIG, '--vocab',
                                     'cat,dog,zebra', '--snippets', '--out',
                                     out])
    assert tool.main() == 0
    printed = capsys.readouterr().out
    assert 'snippets [2], opset 18' in printed
    diff = float(printed.split('max |diff| = ')[1].split()[0])
    assert diff < 1e-4
    assert not (tmp_path / 'tiny.json').exists()  # <out>.json, as documented
    with open(str(tmp_path / 'tiny.onnx.json')) as f:
        meta = json.load(f)
    assert meta['vocabulary'] == ['cat', 'dog', 'zebra']
    assert meta['image_size'] == 32
