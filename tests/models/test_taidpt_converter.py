"""TaI-DPT's released prompt weights: converted and loaded into our TaIDPT.

The reference file, ``tests/fixtures/golden/taidpt_prompt_learner.pth.tar.gz``
(gzipped), was written by ``guozix/TaI-DPT`` @ 1333eca's own saving code
(``SimpleTrainer.save_model`` -> Dassl's ``save_checkpoint``, with a real
SGD optimizer and warm-up / cosine scheduler state; see
``record_taidpt_checkpoint.py``) for its ``PromptLearner`` on the tiny
formula-weights CLIP ResNet of ``test_taidpt.py``, contexts set to the golden
formula values. Converted and loaded into a TaIDPT with other contexts, the
contexts equal the file's and the image logits the reference model's with
them (``taidpt_golden.npz``, float32, abs 1e-5 as in ``test_taidpt.py``).
Bad inputs are refused with one line naming the file.
"""
import gzip
import importlib.util
import os
import os.path as osp
import shutil

import numpy as np
import pytest
import torch

from granzsl_mm import register_all_modules
from granzsl_mm.models.backbones import build_open_clip
from granzsl_mm.registry import MODELS
from granzsl_mm.utils.safe_checkpoint import UnsafeCheckpointError, safe_torch_load
from tests.fixtures.formula_weights import fill_with_formula, formula_tensor

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOOL = osp.join(REPO, 'tools', 'model_converters', 'taidpt_to_ours.py')
FIXTURE = osp.join(REPO, 'tests', 'fixtures', 'golden',
                   'taidpt_prompt_learner.pth.tar.gz')
GOLDEN = osp.join(REPO, 'tests', 'fixtures', 'golden', 'taidpt_golden.npz')
CLASSES = ['cat', 'dog', 'traffic light', 'zebra', 'hot_dog']
RN_TINY = dict(embed_dim=64, quick_gelu=True,
               vision_cfg=dict(image_size=224, layers=[1, 1, 1, 1], width=8,
                               patch_size=None),
               text_cfg=dict(context_length=77, vocab_size=49408, width=128,
                             heads=2, layers=2))


@pytest.fixture(scope='module')
def tool():
    spec = importlib.util.spec_from_file_location('taidpt_to_ours', TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def released(tmp_path):
    """The reference file where the reference's loader looks for it."""
    path = tmp_path / 'seed1' / 'prompt_learner' / 'model-best.pth.tar'
    path.parent.mkdir(parents=True)
    with gzip.open(FIXTURE, 'rb') as src, open(path, 'wb') as dst:
        shutil.copyfileobj(src, dst)
    return str(path)


@pytest.fixture(scope='module')
def weights(tmp_path_factory):
    register_all_modules()
    clip, _ = build_open_clip('RN-tiny', pretrained='random',
                              model_cfg=RN_TINY)
    fill_with_formula(clip)
    path = tmp_path_factory.mktemp('rn_tiny') / 'rn_tiny.pt'
    torch.save(clip.state_dict(), path)
    return str(path)


def build(weights, **options):
    return MODELS.build(dict(
        type='TaIDPT',
        backbone=dict(type='OpenCLIPBackbone', arch='RN-tiny',
                      pretrained=weights, model_cfg=RN_TINY),
        num_classes=5, class_names=CLASSES, num_context_tokens=4,
        **options)).eval()


def run(tool, capsys, *argv):
    """The tool's exit status and stderr, as its command line gives them."""
    status = tool._cli.run(lambda: tool.main(list(argv)),
                           also=tool.USER_ERRORS)
    return status, capsys.readouterr().err


def test_released_file_converts_and_scores_as_the_reference(
        tool, released, weights, tmp_path, capsys):
    # the file pickles optimizer / scheduler objects: torch's weights-only
    # loading refuses it as it stands
    with pytest.raises(Exception, match='SGD|CosineAnnealingLR'):
        torch.load(released, weights_only=True)
    # nor does our safe loader take them unless told to drop them
    with pytest.raises(UnsafeCheckpointError, match='SGD'):
        safe_torch_load(released)
    out = tmp_path / 'ours.pth'
    assert run(tool, capsys, released, str(out))[0] == 0
    ckpt = torch.load(out, weights_only=True)
    assert sorted(ckpt['state_dict']) == ['global_prompt.context',
                                          'local_prompt.context']
    assert ckpt['meta']['converted_from'] == 'taidpt-reference'
    assert ckpt['meta']['num_context_tokens'] == 4
    assert ckpt['meta']['epoch'] == 1

    model = build(weights)  # its own random contexts
    missing, unexpected = model.load_state_dict(ckpt['state_dict'],
                                                strict=False)
    assert not unexpected
    assert not [k for k in missing if 'prompt' in k]
    for prompt, key in ((model.global_prompt, 'ctx'),
                        (model.local_prompt, 'ctx_double')):
        torch.testing.assert_close(
            prompt.context.detach(),
            formula_tensor(key, (4, 128), 0.02), rtol=0, atol=0)
    with np.load(GOLDEN) as data:
        golden = {k: data[k] for k in data.files}
    images = formula_tensor('images', (2, 3, 64, 64))
    with torch.no_grad():
        glob, local = model.logits(images)
        merged = model.forward_tensor(images)
    for actual, key in ((glob, 'image_global'), (local, 'image_local'),
                        (merged, 'image_merged')):
        np.testing.assert_allclose(
            actual.numpy(), golden[f'float32/coco/64/{key}'], rtol=0,
            atol=1e-5, err_msg=key)


def test_class_specific_contexts_convert(tool, weights, tmp_path, capsys):
    """CSC contexts ``[n_cls, n_ctx, width]`` (the Dassl dict built as
    ``SimpleTrainer.save_model`` builds it) load into a class-specific
    TaIDPT."""
    ctx = formula_tensor('csc', (5, 4, 128), 0.02)
    src = tmp_path / 'model.pth.tar-5'
    torch.save(dict(state_dict=dict(ctx=ctx, ctx_double=-ctx,
                                    temperature=torch.tensor(3.0)),
                    epoch=5, optimizer=None, scheduler=None), src)
    out = tmp_path / 'ours.pth'
    assert run(tool, capsys, str(src), str(out))[0] == 0
    model = build(weights, class_specific=True)
    model.load_state_dict(torch.load(out, weights_only=True)['state_dict'],
                          strict=False)
    torch.testing.assert_close(model.local_prompt.context.detach(), -ctx)


class _Evil:
    """Unpickling this calls ``os.system`` (writes a marker file)."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f'echo ran > {self.marker}', ))


def _bad_files(tmp_path, released):
    ckpt = torch.load(released, weights_only=False)  # our own fixture
    state = ckpt['state_dict']
    files = {}

    def save(name, **change):
        path = tmp_path / name
        torch.save(dict(ckpt, state_dict={**state, **change}), path)
        files[name] = str(path)

    (tmp_path / 'notes.txt').write_text('not a checkpoint\n')
    files['notes.txt'] = str(tmp_path / 'notes.txt')
    save('flat_ctx.pth.tar', ctx=state['ctx'].flatten())
    save('mismatch.pth.tar', ctx_double=state['ctx_double'][:2])
    save('nan.pth.tar', ctx=state['ctx'] * float('nan'))
    save('learned.pth.tar', temperature=torch.tensor(3.5))
    # an optimizer object where the weights belong: read as a placeholder,
    # then refused
    save('object_ctx.pth.tar', ctx=torch.optim.SGD(
        [torch.nn.Parameter(torch.zeros(1))], lr=0.1))
    path = tmp_path / 'no_ctx.pth.tar'
    torch.save(dict(state_dict={'fc.weight': torch.zeros(2)}), path)
    files['no_ctx.pth.tar'] = str(path)
    path = tmp_path / 'evil.pth.tar'
    torch.save(dict(state_dict=dict(ctx=_Evil(tmp_path / 'marker'))), path)
    files['evil.pth.tar'] = str(path)
    return files


@pytest.mark.parametrize('name, words', [
    ('notes.txt', 'not a PyTorch checkpoint'),
    ('evil.pth.tar', 'system'),
    ('flat_ctx.pth.tar', 'ctx has shape'),
    ('mismatch.pth.tar', 'differ in shape'),
    ('nan.pth.tar', 'not a finite'),
    ('learned.pth.tar', '--learned-scales'),
    ('object_ctx.pth.tar', 'not a tensor'),
    ('no_ctx.pth.tar', 'not a TaI-DPT prompt learner'),
])
def test_bad_files_are_refused_in_one_line(tool, released, tmp_path, capsys,
                                           name, words):
    src = _bad_files(tmp_path, released)[name]
    out = tmp_path / 'ours.pth'
    status, err = run(tool, capsys, src, str(out))
    assert status == 2
    assert len(err.strip().splitlines()) == 1
    assert words in err and name in err
    assert not out.exists()
    assert not (tmp_path / 'marker').exists()


@pytest.mark.slow
def test_converted_file_runs_through_tools_test(tool, released, weights,
                                                tmp_path, small_demo_world,
                                                capsys):
    """The converted file is a checkpoint ``tools/test.py`` loads (its safe
    loading path and fit check) into a TaIDPT of the same context size."""
    from mmengine.config import Config

    from tests.fixtures.run_tools import run_tool
    out = tmp_path / 'ours.pth'
    assert run(tool, capsys, released, str(out))[0] == 0
    cfg = Config.fromfile(osp.join(REPO, 'configs', 'taidpt_demo.py'))
    cfg.model.backbone = dict(type='OpenCLIPBackbone', arch='RN-tiny',
                              pretrained=weights, model_cfg=RN_TINY)
    cfg.model.num_context_tokens = 4
    cfg.model.class_names = osp.join(small_demo_world, 'split.json')
    cfg.test_dataloader.dataset.data_root = small_demo_world
    cfg.test_dataloader.batch_size = 16
    cfg.work_dir = str(tmp_path / 'work')
    path = tmp_path / 'taidpt_converted.py'
    cfg.dump(str(path))
    capsys.readouterr()
    run_tool('tools/test.py', [str(path), str(out)])
    captured = capsys.readouterr()
    text = captured.out + captured.err
    assert 'Load checkpoint from ' + str(out) in text
    # both contexts found their places: mmengine lists the keys it missed
    # (only the frozen CLIP's, refilled from its weights file)
    missed = [line for line in text.splitlines()
              if line.startswith('missing keys in source state_dict')]
    assert missed and all('backbone.clip.' in line and '_prompt.' not in line
                          for line in missed)
    assert 'unexpected key' not in text
    assert 'zsl/mAP' in text
