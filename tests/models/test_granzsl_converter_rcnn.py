"""RCNn's checkpoints import with no flag, ours export to them.

Checkpoints are built in exactly RCNn's layout (``train_text.py``):
``{'epoch', 'state_dict': {'clsn', 'token_prefix', 'token_suffix'},
'best_unseen_F1', 'best_gzsl_F1', 'optimizer', 'scheduler'}``; shapes, token
ids and EOT positions are the golden ones recorded from RCNn's own
``ClsnameLearner`` (/tmp/research/16/prompt_learner_golden.json).
"""
import importlib.util
import os.path as osp

import pytest
import torch
from torch import nn

from granzsl_mm.models.backbones import build_open_clip
from granzsl_mm.models.converters.granzsl import rcnn_prompt
from granzsl_mm.utils import set_checkpoint_trust
from tests.fixtures.tiny_override import TINY_MODEL_CFG_PATH, tiny_model_cfg

_TOOL = osp.join(osp.dirname(__file__), '..', '..', 'tools', 'model_converters',
                 'granzsl_to_ours.py')
# RCNn ClsnameLearner, N=4 / N=3 (golden, recorded on the reference).
GOLDEN_IDS = {4: [49406, 320, 1125, 539, 320, 343, 343, 343, 343, 269, 49407],
              3: [49406, 320, 1125, 539, 320, 343, 343, 343, 269, 49407]}
GOLDEN_SHAPES = {4: ([65, 4], [1, 5], [1, 68]), 3: ([65, 3], [1, 5], [1, 69])}
GOLDEN_EOT = {4: 10, 3: 9}


@pytest.fixture(scope='module')
def conv():
    spec = importlib.util.spec_from_file_location('granzsl_to_ours_rcnn', _TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope='module')
def tiny_clip(tmp_path_factory):
    model, tokenizer = build_open_clip('TinyCLIP-test', pretrained='random',
                                       model_cfg=tiny_model_cfg())
    path = tmp_path_factory.mktemp('clip') / 'tiny.pt'
    torch.save(model.state_dict(), path)
    return model, tokenizer, str(path)


@pytest.fixture(autouse=True)
def _no_trust_left():
    yield
    set_checkpoint_trust(False)


class RCNnNames(nn.Module):
    """The parameters and buffers of RCNn's ClsnameLearner (its state_dict
    keys and shapes), to check ``load_state_dict`` (strict) accepts ours."""

    def __init__(self, num_classes, num_tokens, width, context=77):
        super().__init__()
        self.clsn = nn.Parameter(torch.zeros(num_classes, num_tokens, width))
        self.register_buffer('token_prefix', torch.zeros(1, 5, width))
        self.register_buffer('token_suffix',
                             torch.zeros(1, context - 5 - num_tokens, width))


def _rcnn_ckpt(clsn, width, scheduler=None, epoch=3, unseen=0.4, gzsl=0.3):
    learner = RCNnNames(clsn.shape[0], clsn.shape[1], width)
    learner.clsn.data.copy_(clsn)
    learner.token_prefix.normal_()
    learner.token_suffix.normal_()
    optim = torch.optim.SGD([learner.clsn], lr=1e-4, momentum=0.9,
                            weight_decay=5e-4)
    learner.clsn.grad = torch.ones_like(learner.clsn)
    optim.step()  # a momentum buffer in the optimizer state
    learner.clsn.data.copy_(clsn)
    if scheduler is None:  # the plain-dict variant
        scheduler = dict(warmup_epoch=1, cons_lr=1e-5, last_epoch=epoch - 1,
                         base_lrs=[1e-4], _last_lr=[1e-4], _step_count=epoch,
                         _is_initial=False, _get_lr_called_within_step=False)
    # RCNn's bug: best_gzsl_F1 is stored with the unseen value.
    return {'epoch': epoch, 'state_dict': learner.state_dict(),
            'best_unseen_F1': torch.tensor(unseen),
            'best_gzsl_F1': torch.tensor(unseen),
            'optimizer': optim.state_dict(), 'scheduler': scheduler}


@pytest.mark.parametrize('name', ['checkpoint.pth.tar',
                                  'unseen_model_best.pth.tar',
                                  'gzsl_model_best.pth.tar'])
def test_rcnn_files_import_without_a_flag(conv, tmp_path, name):
    clsn = torch.randn(65, 4, 64) * 0.02
    src, dst = tmp_path / name, tmp_path / 'ours.pth'
    torch.save(_rcnn_ckpt(clsn, 64), src)
    assert conv.main([str(src), str(dst)]) == 0
    ours = torch.load(dst, weights_only=True)
    assert list(ours['state_dict']) == ['name_learner.name_vectors']
    assert torch.equal(ours['state_dict']['name_learner.name_vectors'], clsn)
    meta = ours['meta']
    assert meta['converted_from'] == 'rcnn' and meta['num_tokens'] == 4
    assert meta['reference_epoch'] == 3
    assert meta['reference_best_unseen_F1'] == pytest.approx(0.4)
    assert meta['reference_best_gzsl_F1'] == pytest.approx(0.4)
    assert meta['reference_best_gzsl_F1_is_unseen'] is True


def test_live_scheduler_needs_trust(conv, tmp_path, capsys):
    # The real files: 'scheduler' -> 'successor' holds a CosineAnnealingLR.
    clsn = torch.randn(5, 4, 8)
    param = nn.Parameter(torch.zeros(1))
    live = torch.optim.lr_scheduler.CosineAnnealingLR(
        torch.optim.SGD([param], lr=1e-4), T_max=30)
    ckpt = _rcnn_ckpt(clsn, 8, scheduler=dict(successor=live, last_epoch=0))
    src, dst = tmp_path / 'checkpoint.pth.tar', tmp_path / 'ours.pth'
    torch.save(ckpt, src)
    assert conv.main([str(src), str(dst)]) == 2
    err = capsys.readouterr().err
    assert '--trust-checkpoint' in err and 'scheduler' in err
    assert not dst.exists()
    assert conv.main([str(src), str(dst), '--trust-checkpoint']) == 0
    ours = torch.load(dst, weights_only=True)
    assert torch.equal(ours['state_dict']['name_learner.name_vectors'], clsn)


@pytest.mark.parametrize('num_tokens', [4, 3])
def test_reverse_writes_what_rcnn_loads(conv, tiny_clip, tmp_path, num_tokens):
    model, tokenizer, weights = tiny_clip
    ids = tokenizer([rcnn_prompt(num_tokens)])
    assert rcnn_prompt(num_tokens) == 'a photo of a ' + ' '.join(
        ['X'] * num_tokens) + '.'
    nonzero = ids[0][ids[0] != 0].tolist()
    assert nonzero == GOLDEN_IDS[num_tokens]
    assert int(ids.argmax(-1)) == GOLDEN_EOT[num_tokens]

    vectors = torch.randn(65, num_tokens, 64)
    ours = tmp_path / 'ours.pth'
    torch.save(dict(state_dict={'name_learner.name_vectors': vectors},
                    meta={}), ours)
    ref = tmp_path / 'checkpoint.pth.tar'
    assert conv.main([str(ours), str(ref), '--reverse', '--arch',
                      'TinyCLIP-test', '--model-cfg', TINY_MODEL_CFG_PATH,
                      '--pretrained', weights]) == 0
    out = torch.load(ref, weights_only=True)  # plain data only
    assert set(out) == {'epoch', 'state_dict', 'best_unseen_F1',
                        'best_gzsl_F1', 'optimizer', 'scheduler'}
    state = out['state_dict']
    clsn, prefix, suffix = GOLDEN_SHAPES[num_tokens]
    assert list(state) == ['clsn', 'token_prefix', 'token_suffix']
    assert list(state['clsn'].shape) == clsn + [64]
    assert list(state['token_prefix'].shape) == prefix + [64]
    assert list(state['token_suffix'].shape) == suffix + [64]
    # RCNn's load_state_dict (strict) accepts it; so do its optimizer.
    learner = RCNnNames(65, num_tokens, 64)
    learner.load_state_dict(state)
    torch.optim.SGD([learner.clsn], lr=1e-4, momentum=0.9,
                    weight_decay=5e-4).load_state_dict(out['optimizer'])
    # Buffers = the token embedding of the prompt; padding = token 0's row.
    emb = model.token_embedding.weight.detach()[ids[0]]
    torch.testing.assert_close(state['token_prefix'][0], emb[:5])
    torch.testing.assert_close(state['token_suffix'][0], emb[5 + num_tokens:])
    pad = state['token_suffix'][0, GOLDEN_EOT[num_tokens] - 5 - num_tokens + 1:]
    torch.testing.assert_close(
        pad, model.token_embedding.weight.detach()[0].expand_as(pad))
    assert torch.equal(state['clsn'], vectors)

    # Round trip: RCNn layout -> ours gives the same vectors back.
    back = tmp_path / 'back.pth'
    assert conv.main([str(ref), str(back)]) == 0
    again = torch.load(back, weights_only=True)['state_dict']
    assert torch.equal(again['name_learner.name_vectors'], vectors)


def test_round_trip_from_the_rcnn_layout(conv, tiny_clip, tmp_path):
    _, _, weights = tiny_clip
    clsn = torch.randn(65, 4, 64)
    src = tmp_path / 'gzsl_model_best.pth.tar'
    torch.save(_rcnn_ckpt(clsn, 64), src)
    ours, ref = tmp_path / 'ours.pth', tmp_path / 'ref.pth.tar'
    assert conv.main([str(src), str(ours)]) == 0
    assert conv.main([str(ours), str(ref), '--reverse', '--arch',
                      'TinyCLIP-test', '--model-cfg', TINY_MODEL_CFG_PATH,
                      '--pretrained', weights]) == 0
    assert torch.equal(torch.load(ref, weights_only=True)['state_dict']['clsn'],
                       clsn)
    # other layouts still available
    flat = tmp_path / 'flat.pth'
    assert conv.main([str(ours), str(flat), '--reverse', '--layout',
                      'flat']) == 0
    assert torch.equal(torch.load(flat, weights_only=True)[
        'prompt_learner.ctx'], clsn)


def test_rcnn_layout_needs_buffers(conv):
    ours = dict(state_dict={'name_learner.name_vectors': torch.zeros(2, 4, 8)})
    with pytest.raises(ValueError, match='prompt_buffers'):
        conv.ours_to_reference(ours, 'rcnn')
    with pytest.raises(ValueError, match='width'):
        conv.ours_to_reference(ours, 'rcnn', prompt_buffers=dict(
            token_prefix=torch.zeros(1, 5, 4), token_suffix=torch.zeros(1, 68, 4)))
