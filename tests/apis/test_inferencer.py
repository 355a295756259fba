"""MultiLabelInferencer on tiny GranZSL / zero-shot models."""
import json
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from granzsl_mm import register_all_modules
from granzsl_mm.apis import MultiLabelInferencer, list_images, read_vocabulary
from granzsl_mm.models.tta import SnippetTTAModel
from granzsl_mm.registry import MODELS
from tests.fixtures.tiny_granzsl import NAMES, build_tiny_granzsl

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TINY_CONFIG = osp.join(REPO, 'tests', 'fixtures', 'configs',
                       'clip_zeroshot_tiny.py')


def build_granzsl(**kwargs):
    return build_tiny_granzsl(num_tokens=2, init_std=0.5, **kwargs)


@pytest.fixture(scope='module')
def granzsl():
    return build_granzsl()


@pytest.fixture(scope='module')
def image_paths(tmp_path_factory):
    folder = tmp_path_factory.mktemp('imgs')
    rng = np.random.default_rng(1)
    paths = []
    for i in range(3):
        arr = rng.integers(0, 256, size=(32, 32, 3), dtype=np.uint8)
        paths.append(str(folder / f'im{i}.png'))
        Image.fromarray(arr).save(paths[-1])
    return paths


def _granzsl_scores(model, paths, tta=False):
    """GranZSL's own predict (or SnippetTTAModel) on the same tensors."""
    imgs = [torch.from_numpy(np.asarray(Image.open(p))[..., ::-1].copy()
                             ).permute(2, 0, 1) for p in paths]
    batch = dict(inputs=imgs, data_samples=None)
    with torch.no_grad():
        if tta:
            samples = SnippetTTAModel(module=model, grids=(2, 3)).test_step(
                batch)
        else:
            samples = model.test_step(batch)
    return torch.stack([s.pred_score for s in samples])


def test_granzsl_learned_names_equal_own_predict(granzsl, image_paths):
    inf = MultiLabelInferencer(granzsl)
    assert inf.vocabulary == NAMES and inf.sources == ['learned'] * 5
    results = inf(image_paths, topk=None, progress=False)
    ref = _granzsl_scores(granzsl, image_paths)
    for row, res in zip(ref, results):
        order = torch.sort(row, descending=True, stable=True).indices
        assert res['labels'] == [NAMES[i] for i in order]
        assert np.allclose(res['scores'], row[order].numpy(), atol=1e-5)
        assert res['sources'] == ['learned'] * 5
        assert res['img_path'] in image_paths
    inf.tta = True
    tta_scores = inf.scores(image_paths)
    assert torch.allclose(tta_scores, _granzsl_scores(granzsl, image_paths,
                                                      tta=True), atol=1e-5)


def test_typed_word_falls_back_to_prompt(granzsl, image_paths):
    inf = MultiLabelInferencer(granzsl)
    full = inf.scores(image_paths)
    assert inf.set_vocabulary(['dog', 'zebra']) == ['learned', 'prompt']
    mixed = inf.scores(image_paths)
    assert torch.allclose(mixed[:, 0], full[:, 1], atol=1e-6)
    # zebra: the prompt 'a photo of a zebra.' through open_clip's own towers
    clip, tok = granzsl.backbone.clip, granzsl.backbone.tokenizer
    inputs = inf.model.data_preprocessor(
        next(inf.preprocess(image_paths, batch_size=8)), False)['inputs']
    with torch.no_grad():
        text = F.normalize(clip.encode_text(tok(['a photo of a zebra.'])),
                           dim=-1)
        glob, dense = granzsl.backbone(inputs)
    g = F.normalize(glob, dim=-1) @ text.T
    loc = 20.0 * F.normalize(dense, dim=-1) @ text.T
    ref = 0.5 * (20.0 * g + (loc.softmax(dim=1) * loc).sum(1))
    assert torch.allclose(mixed[:, 1], ref[:, 0], atol=1e-4)
    res = inf(image_paths[:1], topk=1, progress=False)[0]
    # learned names and prompt words: one ranking per source, no merge
    assert not res['merged'] and 'labels' not in res
    for source, ranked in res['by_source'].items():
        cols = [i for i, s in enumerate(inf.sources) if s == source]
        best = max(cols, key=lambda i: float(mixed[0, i]))
        assert ranked['labels'] == [inf.vocabulary[best]]
        assert ranked['scores'] == pytest.approx([float(mixed[0, best])])


def test_score_map_equals_view_cosines(granzsl, image_paths):
    inf = MultiLabelInferencer(granzsl)
    smap = inf.score_map(image_paths[0], 'dog')
    inputs = inf.model.data_preprocessor(
        next(inf.preprocess(image_paths[:1], batch_size=1)), False)['inputs']
    with torch.no_grad():
        local, _ = granzsl.view_cosines(inputs, [1])
    assert smap.shape == (4, 4)
    assert np.allclose(smap, local[0, 0].numpy(), atol=1e-5)
    assert inf.score_map(Image.open(image_paths[0]), 'zebra').shape == (4, 4)


def test_class_names_from_checkpoint_meta(tmp_path, image_paths):
    trained = build_granzsl()
    ckpt = str(tmp_path / 'g.pth')
    torch.save(dict(state_dict=trained.state_dict(),
                    meta=dict(dataset_meta=dict(classes=NAMES))), ckpt)
    torch.manual_seed(5)
    fresh = build_granzsl(class_names=None)
    inf = MultiLabelInferencer(fresh, pretrained=ckpt)
    assert inf.vocabulary == NAMES
    assert torch.allclose(inf.scores(image_paths),
                          _granzsl_scores(trained, image_paths), atol=1e-5)


def test_class_names_from_config_split_file(tmp_path):
    from mmengine.config import Config
    (tmp_path / 'split.json').write_text(json.dumps(dict(
        seen=NAMES[:3], unseen=NAMES[3:])))
    model = build_granzsl(class_names=None)
    model.cfg = Config(dict(test_dataloader=dict(dataset=dict(
        data_root=str(tmp_path), split_file='split.json'))))
    inf = MultiLabelInferencer(model)
    assert inf.vocabulary == NAMES and inf.sources == ['learned'] * 5
    inf.set_vocabulary('unseen')
    assert inf.vocabulary == NAMES[3:]


def test_vocabulary_inputs(granzsl, tmp_path):
    inf = MultiLabelInferencer(granzsl)
    (tmp_path / 'v.txt').write_text('cat\n# comment\nred car, blue sky\n')
    assert inf.set_vocabulary(str(tmp_path / 'v.txt')) == [
        'learned', 'prompt', 'prompt']
    assert inf.vocabulary == ['cat', 'red car', 'blue sky']
    inf.set_vocabulary('tree, unicorn')
    assert inf.vocabulary == ['tree', 'unicorn']
    inf.set_vocabulary('coco48_17')
    assert len(inf.vocabulary) == 65 and inf.vocabulary[48] == 'airplane'
    assert len(read_vocabulary('coco80')) == 80
    assert len(read_vocabulary('nuswide81')) == 81
    (tmp_path / 's.json').write_text(json.dumps(dict(seen=['a'],
                                                     unseen=['b'])))
    assert read_vocabulary(str(tmp_path / 's.json')) == ['a', 'b']
    inf.set_vocabulary('unseen')
    assert inf.vocabulary == ['tree', 'boat']
    path = inf.model.export_vocabulary(str(tmp_path / 'names.pt'))
    other = MultiLabelInferencer(build_granzsl(
        class_names=['w', 'x', 'y', 'z', 'v']))
    assert other.set_vocabulary(path) == ['learned'] * 5
    assert other.vocabulary == NAMES
    with pytest.raises(ValueError, match='empty'):
        inf.set_vocabulary(' , ')
    with pytest.raises(FileNotFoundError):
        inf.set_vocabulary('missing.txt')
    inf.set_vocabulary('all')


def test_topk_threshold_and_image_inputs(granzsl, image_paths, tmp_path):
    inf = MultiLabelInferencer(granzsl)
    res = inf(image_paths, topk=None, threshold=0.0, progress=False)
    for r in res:
        assert all(s >= 0 for s in r['scores'])
        assert r['scores'] == sorted(r['scores'], reverse=True)
    folder = osp.dirname(image_paths[0])
    assert list_images(folder) == sorted(image_paths)
    assert list_images(osp.join(folder, 'im[01].png')) == image_paths[:2]
    arr = np.asarray(Image.open(image_paths[0]))[..., ::-1]
    by_array = inf(arr, topk=2, progress=False)[0]
    by_path = inf(image_paths[0], topk=2, progress=False)[0]
    assert by_array['img_path'] is None
    assert np.allclose(by_array['scores'], by_path['scores'], atol=1e-6)
    with pytest.raises(FileNotFoundError):
        list_images(str(tmp_path / 'nothing.png'))
    (tmp_path / 'broken.png').write_bytes(b'not an image')
    with pytest.raises(ValueError, match='broken.png'):
        inf(str(tmp_path / 'broken.png'), progress=False)


def test_config_path_and_unsupported_model():
    inf = MultiLabelInferencer(TINY_CONFIG, vocabulary='seen')
    assert inf.vocabulary == ['cat', 'dog', 'car']
    assert inf.grids == (2, )
    register_all_modules()
    closed = MODELS.build(dict(
        type='mmpretrain.ImageClassifier',
        backbone=dict(type='OpenCLIPBackbone', pretrained='random',
                      arch='TinyCLIP-test',
                      out_type='global'),
        head=dict(type='mmpretrain.MultiLabelLinearClsHead', num_classes=3,
                  in_channels=32)))
    with pytest.raises(TypeError, match='GranZSL-like'):
        MultiLabelInferencer(closed)


@pytest.mark.slow
def test_imports_never_touch_the_network():
    code = (
        'import socket\n'
        'def boom(*a, **k):\n'
        '    raise RuntimeError("network access during import")\n'
        'socket.socket.connect = boom\n'
        'socket.create_connection = boom\n'
        'socket.getaddrinfo = boom\n'
        'import granzsl_mm, granzsl_mm.apis, granzsl_mm.models\n'
        'import granzsl_mm.datasets, granzsl_mm.evaluation\n'
        'import numpy as np\n'
        'from granzsl_mm.models.backbones import OpenCLIPBackbone\n'
        'from granzsl_mm.models.classifiers import '
        'ZeroShotMultiLabelClassifier\n'
        '# no default scope set: direct construction must still work\n'
        'm = ZeroShotMultiLabelClassifier(OpenCLIPBackbone("TinyCLIP-test",'
        ' pretrained="random"),'
        ' class_names=["a", "b"])\n'
        'res = granzsl_mm.apis.MultiLabelInferencer(m)('
        'np.zeros((20, 20, 3), np.uint8), progress=False)\n'
        'assert res[0]["sources"] == ["prompt", "prompt"]\n'
        'granzsl_mm.register_all_modules()\n'
        'print("ok")\n')
    proc = subprocess.run([sys.executable, '-c', code], cwd=REPO,
                          capture_output=True, text=True, timeout=120,
                          env=dict(PYTHONPATH=REPO, PATH='/usr/bin:/bin',
                                   OMP_NUM_THREADS='1', HOME='/tmp'))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip().endswith('ok')


def test_from_granzsl_scores_as_granzsl(granzsl):
    from granzsl_mm.models.classifiers import ZeroShotMultiLabelClassifier
    new = ZeroShotMultiLabelClassifier.from_granzsl(granzsl)
    x = torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        torch.testing.assert_close(new(x, mode='tensor'),
                                   granzsl(x, mode='tensor'))
    assert new.vocabulary_sources == ['learned'] * len(NAMES)


def test_vocabulary_file_is_read_once(granzsl, tmp_path, monkeypatch):
    import granzsl_mm.models.text.class_vocabulary as class_vocabulary
    path = MultiLabelInferencer(granzsl).model.export_vocabulary(
        str(tmp_path / 'names.pt'))
    inf = MultiLabelInferencer(build_granzsl(
        class_names=['w', 'x', 'y', 'z', 'v']))
    reads = []
    real = class_vocabulary.load_vocabulary_file

    def counting(p, *args, **kwargs):
        reads.append(p)
        return real(p, *args, **kwargs)

    monkeypatch.setattr(class_vocabulary, 'load_vocabulary_file', counting)
    assert inf.set_vocabulary(path) == ['learned'] * 5
    assert inf.vocabulary == NAMES and reads == [path]


def test_stages_of_an_mmengine_inferencer(granzsl, image_paths, tmp_path,
                                          monkeypatch):
    from mmengine.infer import BaseInferencer

    from granzsl_mm.apis.label_drawing import (
        NoDisplayError,
        draw_label_panel,
        result_sections,
    )
    inf = MultiLabelInferencer(granzsl)
    assert isinstance(inf, BaseInferencer)
    items = inf._inputs_to_list(osp.dirname(image_paths[0]))
    assert items == sorted(image_paths)
    batch = next(inf.preprocess(items, batch_size=2))
    assert len(batch['inputs']) == 2
    assert batch['data_samples'][1].img_path == items[1]
    preds = inf.forward(batch)
    ref = _granzsl_scores(granzsl, items[:2])
    assert torch.allclose(torch.stack([p.pred_score for p in preds]), ref,
                          atol=1e-5)
    assert preds[0].img_path == items[0]
    ranked = inf.postprocess(preds, None, topk=2)
    best = torch.sort(ref[0], descending=True, stable=True).indices[:2]
    assert ranked[0]['labels'] == [NAMES[i] for i in best]
    # visualize: the picture of the returned ranking, written to show_dir
    pictures = inf.visualize(items[:2], ranked, show_dir=str(tmp_path / 'v'))
    with Image.open(tmp_path / 'v' / 'im0.png') as written:
        assert np.array_equal(np.asarray(written.convert('RGB')),
                              pictures[0])
    expected = draw_label_panel(np.asarray(Image.open(items[0])),
                                result_sections(ranked[0], ['tree', 'boat']),
                                title=items[0])
    assert np.array_equal(pictures[0], expected)
    # __call__ runs the same stages
    again = inf(items[:2], topk=2, progress=False)
    assert [r['labels'] for r in again] == [r['labels'] for r in ranked]
    samples = inf(items[:1], return_datasamples=True, progress=False)
    assert torch.allclose(samples[0].pred_score, ref[0], atol=1e-5)
    monkeypatch.delenv('DISPLAY', raising=False)
    monkeypatch.delenv('WAYLAND_DISPLAY', raising=False)
    with pytest.raises(NoDisplayError, match='show_dir'):
        inf(items[:1], show=True, progress=False)
    with pytest.raises(ValueError, match='clip_weights'):
        MultiLabelInferencer(granzsl, clip_weights='clip.pt')


def test_clip_weights_reach_the_config_model(tmp_path):
    from granzsl_mm.models.backbones.open_clip_builder import build_open_clip
    torch.manual_seed(11)
    clip, _ = build_open_clip('TinyCLIP-test', pretrained='random')
    path = str(tmp_path / 'tiny_clip.pt')
    torch.save(clip.state_dict(), path)
    inf = MultiLabelInferencer(TINY_CONFIG, clip_weights=path)
    loaded = inf.model.backbone.clip.state_dict()
    for key, value in clip.state_dict().items():
        assert torch.equal(loaded[key], value), key


def test_decoding_ahead_in_a_thread_gives_the_same_batches(granzsl,
                                                           image_paths,
                                                           tmp_path):
    """``decode_workers=1`` decodes the next batch while this one is
    scored: the same scores, in order; a bad file still raises."""
    inf = MultiLabelInferencer(granzsl)
    paths = image_paths * 3  # 9 images, batches of 2: the last one short
    ref = inf(paths, batch_size=2, progress=False, return_datasamples=True)
    got = inf(paths, batch_size=2, progress=False, return_datasamples=True,
              decode_workers=1)
    assert [g.img_path for g in got] == [r.img_path for r in ref] == paths
    for g, r in zip(got, ref):
        assert torch.equal(g.pred_score, r.pred_score)
    bad = tmp_path / 'bad.png'
    bad.write_bytes(b'not an image')
    with pytest.raises(Exception) as plain:
        inf(paths[:3] + [str(bad)], batch_size=2, progress=False)
    with pytest.raises(type(plain.value)):
        inf(paths[:3] + [str(bad)], batch_size=2, progress=False,
            decode_workers=1)
