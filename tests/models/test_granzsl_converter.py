"""Reference <-> ours conversion of learned class names (synthetic checkpoints)."""
import importlib.util
import json
import os.path as osp

import pytest
import torch

_TOOL = osp.join(osp.dirname(__file__), '..', '..', 'tools', 'model_converters',
                 'granzsl_to_ours.py')


@pytest.fixture(scope='module')
def conv():
    spec = importlib.util.spec_from_file_location('granzsl_to_ours', _TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _dassl_ckpt(ctx):
    # The layout CoOp-style trainers (Dassl) write: the prompt learner's own
    # state dict with derived prefix/suffix buffers, plus training state.
    return dict(state_dict=dict(ctx=ctx, token_prefix=torch.zeros(3, 1, 8),
                                token_suffix=torch.zeros(3, 70, 8)),
                epoch=7, optimizer=dict(state={}, param_groups=[]))


def test_reference_to_ours_cli(conv, tmp_path):
    ctx = torch.randn(3, 4, 8)
    src, dst = tmp_path / 'ref.pth', tmp_path / 'ours.pth'
    torch.save(_dassl_ckpt(ctx), src)
    conv.main([str(src), str(dst)])
    ours = torch.load(dst, weights_only=True)
    assert list(ours['state_dict']) == ['name_learner.name_vectors']
    torch.testing.assert_close(ours['state_dict']['name_learner.name_vectors'], ctx)
    assert ours['meta']['num_tokens'] == 4

    back = tmp_path / 'back.pth'
    conv.main([str(dst), str(back), '--reverse', '--layout', 'flat'])
    flat = torch.load(back, weights_only=True)
    torch.testing.assert_close(flat['prompt_learner.ctx'], ctx)


def test_flat_and_module_prefix(conv):
    ctx = torch.randn(2, 3, 5)
    for key in ('prompt_learner.ctx', 'module.prompt_learner.ctx'):
        out = conv.reference_to_ours({key: ctx, 'other.weight': torch.ones(1)})
        torch.testing.assert_close(out['state_dict'][conv.OUR_KEY], ctx)
    # DualCoOp-style: the whole DataParallel model's state dict + training state
    dualcoop = dict(state_dict={'module.prompt_learner.ctx': ctx,
                                'module.image_encoder.conv1.weight': torch.ones(2),
                                'module.prompt_learner.token_prefix':
                                torch.zeros(2, 1, 5)},
                    epoch=3, best_mAP=50.0)
    out = conv.reference_to_ours(dualcoop)
    torch.testing.assert_close(out['state_dict'][conv.OUR_KEY], ctx)
    assert list(out['state_dict']) == [conv.OUR_KEY]
    back = conv.ours_to_reference(out)
    torch.testing.assert_close(back['state_dict']['prompt_learner.ctx'], ctx)
    out = conv.reference_to_ours(dict(model={'my.names': ctx}), key='my.names')
    torch.testing.assert_close(out['state_dict'][conv.OUR_KEY], ctx)


def test_reorder_classes(conv, tmp_path):
    ctx = torch.arange(3.0).reshape(3, 1, 1).expand(3, 2, 4).contiguous()
    src_names = tmp_path / 'src.txt'
    src_names.write_text('cat\ndog\ncar\n')
    split = tmp_path / 'split.json'
    split.write_text(json.dumps({'seen': ['car', 'cat'], 'unseen': ['dog']}))
    src, dst = tmp_path / 'ref.pth', tmp_path / 'ours.pth'
    torch.save({'prompt_learner.ctx': ctx}, src)
    conv.main([str(src), str(dst), '--src-classes', str(src_names),
               '--dst-classes', str(split)])
    got = torch.load(dst, weights_only=True)['state_dict'][conv.OUR_KEY]
    assert got[:, 0, 0].tolist() == [2.0, 0.0, 1.0]


def test_bad_checkpoints(conv):
    with pytest.raises(ValueError, match='class-specific'):
        conv.reference_to_ours({'prompt_learner.ctx': torch.randn(4, 8)})
    with pytest.raises(KeyError):
        conv.reference_to_ours({'something': torch.randn(2, 4, 8)})
    with pytest.raises(KeyError):
        conv.ours_to_reference({'state_dict': {}})
    with pytest.raises(ValueError, match='missing'):
        conv.reorder(torch.zeros(2, 1, 1), ['a', 'b'], ['a', 'c'])
