"""MMPretrain tool parity: tools/test.py flags, --show-dir on the original
image, browse_dataset modes, get_flops, publish_model."""
import hashlib
import importlib.util
import os.path as osp
import sys

import numpy as np
import pytest
import torch
from mmengine.config import Config
from PIL import Image

from tests.fixtures.run_tools import REPO, TINY_CFG
from tests.fixtures.tiny_multilabel import make_tiny_multilabel


def _tool(rel_path: str):
    path = osp.join(REPO, rel_path)
    name = 'tool_' + rel_path.replace('/', '_')[:-3]
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope='module')
def tiny_data(tmp_path_factory):
    return make_tiny_multilabel(str(tmp_path_factory.mktemp('tiny_ml')),
                                num_train=3, num_test=2)


def test_test_py_show_is_its_own_flag(monkeypatch):
    tool = _tool('tools/test.py')
    monkeypatch.setattr(sys, 'argv', [
        'test.py', 'CFG', 'none', '--show', '--interval', '3', '--wait-time',
        '0.5', '--amp', '--clip-checkpoint', 'clip.pt'])
    args = tool.parse_args()
    assert (args.show, args.show_dir, args.interval, args.wait_time,
            args.amp, args.clip_checkpoint) == (True, None, 3, 0.5, True,
                                                'clip.pt')
    # no abbreviations: `--show-d vis` is refused, not read as --show-dir
    monkeypatch.setattr(sys, 'argv', ['test.py', 'CFG', 'none', '--show-d',
                                      'vis'])
    with pytest.raises(SystemExit):
        tool.parse_args()


def test_test_py_show_options_reach_the_hook():
    tool = _tool('tools/test.py')
    cfg = Config.fromfile(TINY_CFG)
    args = tool.argparse.Namespace(show=True, show_dir=None, interval=4,
                                   wait_time=0.25)
    tool._apply_show_options(cfg, args)
    vis = cfg.default_hooks.visualization
    assert vis.type == 'granzsl_mm.OriginalImageVisualizationHook'
    assert (vis.enable, vis.show, vis.interval, vis.wait_time) == (
        True, True, 4, 0.25)


def test_test_py_amp_runs_the_test_loop_under_autocast():
    from mmengine.registry import init_default_scope
    from mmengine.runner.amp import autocast

    from granzsl_mm.registry import MODELS
    tool = _tool('tools/test.py')
    cfg = Config.fromfile(TINY_CFG)
    tool._apply_amp(cfg)
    assert cfg.test_cfg.fp16 is True
    # what the loop then does on this CPU machine: bf16 autocast, finite
    init_default_scope('granzsl_mm')
    model = MODELS.build(cfg.model).eval()
    with torch.no_grad(), autocast(enabled=cfg.test_cfg.fp16):
        scores = model(torch.rand(2, 3, 32, 32), mode='tensor')
    assert scores.dtype == torch.bfloat16 and torch.isfinite(
        scores.float()).all()


def test_test_py_clip_checkpoint_goes_through_set_clip_weights(
        monkeypatch, capsys, tmp_path):
    tool = _tool('tools/test.py')
    missing = str(tmp_path / 'nope.pt')
    monkeypatch.setattr(sys, 'argv', ['test.py', TINY_CFG, 'none',
                                      '--work-dir', str(tmp_path / 'w'),
                                      '--clip-checkpoint', missing])
    with pytest.raises(SystemExit) as exit_info:
        tool.main()
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert '--clip-checkpoint FILE' in err and missing in err


def test_show_dir_paints_the_original_image_at_a_readable_size(tmp_path):
    from mmpretrain.structures import DataSample
    from mmpretrain.visualization import UniversalVisualizer

    from granzsl_mm.engine.hooks import OriginalImageVisualizationHook
    UniversalVisualizer.get_instance('test_show_dir_vis')
    # originals 90x60 (3:2); the network saw 16x16 inputs
    paths = []
    for i in range(5):
        path = str(tmp_path / f'img{i}.png')
        Image.fromarray(np.full((60, 90, 3), 40 * i, np.uint8)).save(path)
        paths.append(path)
    out_dir = str(tmp_path / 'vis')
    hook = OriginalImageVisualizationHook(enable=True, interval=2,
                                          out_dir=out_dir, short_side=300)
    batches = [[0, 1, 2], [3, 4]]  # a short last batch
    for batch_idx, ids in enumerate(batches):
        samples = [DataSample(metainfo=dict(img_path=paths[i])).set_gt_label(
            [0]).set_pred_score(torch.tensor([0.9, 0.1])) for i in ids]
        data_batch = dict(inputs=torch.zeros(len(ids), 3, 16, 16))
        hook._draw_samples(batch_idx, data_batch, samples)
    written = sorted(p.name for p in (tmp_path / 'vis').iterdir())
    # every 2nd sample over the whole loop: 0, 2, 4 (the stock hook's
    # per-batch offsets would skip sample 4)
    assert written == ['img0.png_0.png', 'img2.png_0.png', 'img4.png_0.png']
    with Image.open(osp.join(out_dir, written[1])) as drawn:
        picture = np.asarray(drawn.convert('RGB'))
    # the original at 3:2, short side 300, then the panel beside it
    assert picture.shape[0] == 300 and picture.shape[1] > 450 + 200
    # painted on the original's pixels (value 80), not on the zeros, and
    # nothing drawn over them
    assert (picture[:300, :450] == 80).all()
    # the panel holds text (dark pixels on white)
    panel = picture[:, 460:]
    assert (panel == 255).mean() > 0.5 and (panel < 100).any()


def test_browse_dataset_modes_and_seen_unseen_split(tiny_data, tmp_path):
    from mmengine.registry import init_default_scope

    from granzsl_mm import register_all_modules
    from granzsl_mm.registry import DATASETS
    from granzsl_mm.utils.browse import browse_dataset, split_labels
    register_all_modules(init_default_scope=False)
    init_default_scope('granzsl_mm')
    cfg = Config.fromfile(TINY_CFG)
    cfg.test_dataloader.dataset.data_root = tiny_data
    dataset = DATASETS.build(cfg.test_dataloader.dataset)
    for mode, panels_wide in (('original', 1), ('concat', 2),
                              ('pipeline', 2)):
        files = browse_dataset(dataset, str(tmp_path / mode), 2, mode=mode)
        assert len(files) == 2
        with Image.open(files[0]) as picture:
            assert picture.size[0] == 300 * panels_wide  # 3 in per panel
    with pytest.raises(ValueError, match='mode must be one of'):
        browse_dataset(dataset, str(tmp_path / 'x'), 1, mode='steps')
    meta = dict(classes=['cat', 'dog', 'zebra', 'okapi'],
                unseen_classes=['zebra', 'okapi'])
    assert split_labels(meta, gt_score=[1, -1, 1, 0]) == (['cat'], ['zebra'],
                                                          1)
    assert split_labels(meta, gt_label=[3, 1]) == (['dog'], ['okapi'], 0)


def test_get_flops_counts_the_model():
    tool = _tool('tools/analysis_tools/get_flops.py')
    from granzsl_mm.registry import MODELS
    cfg = Config.fromfile(TINY_CFG)
    info = tool.complexity(cfg, (32, 32))
    model = MODELS.build(cfg.model)
    assert info['params'] == sum(p.numel() for p in model.parameters())
    # the 8x8 patch embedding alone: 16 patches x 32 channels x 3*8*8 MACs
    assert info['flops'] > 16 * 32 * 3 * 8 * 8
    backbone = tool.complexity(cfg, (32, 32), backbone_only=True)
    head = 32 * 5  # the linear head's MACs
    assert info['flops'] - backbone['flops'] == head


def test_get_flops_on_a_granzsl_config():
    """The jit trace of GranZSL's forward (dense map sizes as ints) and its
    ``extract_feat`` (``--backbone-only``) are counted."""
    import os.path as osp

    from mmengine.analysis import get_model_complexity_info

    from granzsl_mm.registry import MODELS
    tool = _tool('tools/analysis_tools/get_flops.py')
    cfg = Config.fromfile(osp.join(REPO, 'configs', 'granzsl_demo.py'))
    cfg.model.backbone.pretrained = 'random'
    info = tool.complexity(cfg, (48, 48))
    backbone = tool.complexity(cfg, (48, 48), backbone_only=True)
    model = MODELS.build(cfg.model).eval()
    assert info['params'] == backbone['params'] == sum(
        p.numel() for p in model.parameters())
    with torch.no_grad():
        direct = get_model_complexity_info(
            model.backbone, inputs=(torch.zeros(1, 3, 48, 48), ),
            show_table=False, show_arch=False)
    assert backbone['flops'] == direct['flops']
    assert info['flops'] > backbone['flops']  # + the cosines to the names


def test_publish_model_strips_training_state(tmp_path):
    tool = _tool('tools/model_converters/publish_model.py')
    from granzsl_mm.utils.safe_checkpoint import safe_torch_load
    src = str(tmp_path / 'epoch_3.pth')
    state = {'w': torch.arange(4.0)}
    torch.save(dict(state_dict=state, meta=dict(epoch=3),
                    optimizer=dict(state={}), param_schedulers=[],
                    message_hub=dict(log_scalars={})), src)
    final = tool.publish(src, str(tmp_path / 'model.pth'), add_date=False)
    with open(final, 'rb') as f:
        sha = hashlib.sha256(f.read()).hexdigest()
    assert final == str(tmp_path / f'model-{sha[:8]}.pth')
    ckpt = safe_torch_load(final)
    assert set(ckpt) == {'state_dict', 'meta'}
    assert torch.equal(ckpt['state_dict']['w'], state['w'])
    torch.save(dict(weights=state), src)
    with pytest.raises(ValueError, match='no "state_dict"'):
        tool.publish(src, str(tmp_path / 'bad.pth'))


def test_train_takes_clip_weights_checked_like_test(tmp_path, capsys):
    """train.py --clip-checkpoint: the file is checked against the config's
    CLIP before anything is built (the same door as test.py / infer.py)."""
    import os.path as osp

    from tests.fixtures.run_tools import run_tool_in_process
    config = osp.join(REPO, 'tests', 'fixtures', 'configs',
                      'clip_zeroshot_tiny.py')
    code, err = run_tool_in_process('train.py', [
        config, '--work-dir', str(tmp_path / 'w'), '--clip-checkpoint',
        str(tmp_path / 'missing.pt')], capsys)
    assert code == 2 and 'missing.pt' in err and 'Traceback' not in err
    other = str(tmp_path / 'linear.pt')
    torch.save(torch.nn.Linear(2, 2).state_dict(), other)
    code, err = run_tool_in_process('train.py', [
        config, '--work-dir', str(tmp_path / 'w'), '--clip-checkpoint', other],
        capsys)
    assert code == 2 and 'linear.pt' in err and 'Traceback' not in err
