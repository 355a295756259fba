"""Contrastive pre-training pieces: the caption dataset, the CLIP loss model,
the exported checkpoint, the demo's progress hook."""
import json
import os.path as osp

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mmpretrain.structures import DataSample

from granzsl_mm import register_all_modules
from granzsl_mm.registry import DATASETS, MODELS

register_all_modules()


def _captions(tmp_path, anns):
    path = tmp_path / 'caps.json'
    path.write_text(json.dumps(dict(
        images=[dict(id=1, file_name='a.png'), dict(id=2, file_name='b.png')],
        annotations=anns)))
    return str(path)


def test_caption_dataset_items_and_errors(tmp_path):
    ann = _captions(tmp_path, [dict(id=1, image_id=1, caption='a red ring.'),
                               dict(id=2, image_id=1, caption='a ring.'),
                               dict(id=3, image_id=2, caption='a square.')])
    ds = DATASETS.build(dict(type='ImageCaptionDataset', ann_file=ann,
                             data_prefix=dict(img_path='imgs')))
    assert len(ds) == 3
    assert ds.get_data_info(1)['caption'] == 'a ring.'
    assert ds.get_data_info(2)['img_path'] == osp.join('imgs', 'b.png')
    bad = _captions(tmp_path, [dict(id=1, image_id=9, caption='x')])
    with pytest.raises(ValueError, match='unknown image 9'):
        DATASETS.build(dict(type='ImageCaptionDataset', ann_file=bad))
    with pytest.raises(FileNotFoundError):
        DATASETS.build(dict(type='ImageCaptionDataset',
                            ann_file=str(tmp_path / 'none.json')))
    (tmp_path / 'broken.json').write_text('{')
    with pytest.raises(ValueError, match='not valid JSON'):
        DATASETS.build(dict(type='ImageCaptionDataset',
                            ann_file=str(tmp_path / 'broken.json')))


def _samples(texts):
    out = []
    for t in texts:
        s = DataSample()
        s.set_field(t, 'caption', field_type='metainfo')
        out.append(s)
    return out


def test_contrastive_loss_is_symmetric_infonce(tmp_path):
    torch.manual_seed(0)
    model = MODELS.build(dict(type='ContrastiveCLIP', arch='TinyCLIP-test'))
    images = torch.randn(4, 3, 32, 32)
    texts = ['a red ring.', 'a blue square.', 'a green circle.', 'a ring.']
    losses = model(images, _samples(texts), mode='loss')
    with torch.no_grad():
        img = F.normalize(model.clip.encode_image(images), dim=-1)
        txt = F.normalize(model.clip.encode_text(model.tokenizer(texts)),
                          dim=-1)
        logits = model.clip.logit_scale.exp() * img @ txt.t()
        target = torch.arange(4)
        ref = (F.cross_entropy(logits, target) +
               F.cross_entropy(logits.t(), target)) / 2
    torch.testing.assert_close(losses['loss_clip'].detach(), ref)
    with pytest.raises(ValueError, match='caption'):
        model(images, [DataSample() for _ in range(4)], mode='loss')

    # a few steps on one batch lower the loss
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    model.train()
    first = None
    for _ in range(8):
        loss = model(images, _samples(texts), mode='loss')['loss_clip']
        first = float(loss.detach()) if first is None else first
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert float(loss.detach()) < first

    # the export is a plain open_clip state dict the backbone loads
    path = str(tmp_path / 'clip.pt')
    model.save_open_clip(path)
    backbone = MODELS.build(dict(type='OpenCLIPBackbone', arch='TinyCLIP-test',
                                 pretrained=path))
    for key, value in model.clip.state_dict().items():
        torch.testing.assert_close(backbone.clip.state_dict()[key], value)


def test_sigmoid_loss_is_open_clips_siglip_loss_and_exports_the_bias(
        tmp_path):
    """``loss='siglip'``: open_clip's SigLipLoss with the tower's learned
    temperature and bias; the export carries the bias and the zero-shot
    classifier scores with it."""
    from open_clip.loss import SigLipLoss
    torch.manual_seed(0)
    model = MODELS.build(dict(type='ContrastiveCLIP',
                              arch='TinyCLIP-world-sigmoid', loss='siglip',
                              pretrained='random'))
    # SigLIP's initialisation (open_clip's --siglip): t' = log 10, b = -10
    assert float(model.clip.logit_bias.detach()) == -10.0
    assert float(model.clip.logit_scale.detach().exp()) == pytest.approx(10.0)
    with torch.no_grad():
        model.clip.logit_bias.fill_(-7.5)  # not the initial value
    images = torch.randn(4, 3, 48, 48)
    texts = ['a red ring.', 'a blue square.', 'a green circle.', 'a ring.']
    losses = model(images, _samples(texts), mode='loss')
    assert set(losses) == {'loss_siglip', 'logit_scale', 'logit_bias',
                           'i2t_acc'}
    with torch.no_grad():
        img = F.normalize(model.clip.encode_image(images), dim=-1)
        txt = F.normalize(model.clip.encode_text(model.tokenizer(texts)),
                          dim=-1)
        scale, bias = model.clip.logit_scale.exp(), model.clip.logit_bias
        ref = SigLipLoss()(img, txt, scale, bias)
        # the paper's formula: -sum log sigmoid(z_ij (t x_i.y_j + b)) / n
        z = 2 * torch.eye(4) - 1
        paper = -F.logsigmoid(z * (scale * img @ txt.t() + bias)).sum() / 4
    torch.testing.assert_close(losses['loss_siglip'].detach(), ref)
    torch.testing.assert_close(ref, paper)
    assert float(losses['logit_bias']) == -7.5
    # the bias is trained
    losses['loss_siglip'].backward()
    assert model.clip.logit_bias.grad is not None
    # a tower without a learned bias is refused for the sigmoid loss
    with pytest.raises(ValueError, match='logit_bias'):
        MODELS.build(dict(type='ContrastiveCLIP', arch='TinyCLIP-test',
                          loss='siglip', pretrained='random'))
    with pytest.raises(ValueError, match='loss must be'):
        MODELS.build(dict(type='ContrastiveCLIP', arch='TinyCLIP-test',
                          loss='hinge', pretrained='random'))

    path = str(tmp_path / 'tiny_siglip.pt')
    model.save_open_clip(path)
    state = torch.load(path, map_location='cpu', weights_only=True)
    assert float(state['logit_bias']) == -7.5
    clf = MODELS.build(dict(
        type='ZeroShotMultiLabelClassifier',
        backbone=dict(type='OpenCLIPBackbone', arch='TinyCLIP-world-sigmoid',
                      pretrained=path),
        class_names=['ring', 'square', 'circle'], num_seen_classes=2,
        templates=['a {}.'], logit_scale='clip', logit_bias='clip',
        score_act='sigmoid'))
    assert clf.logit_bias == -7.5
    assert clf.logit_scale == pytest.approx(float(scale))
    with torch.no_grad():
        scores = clf.scores_from_cosines(None, torch.tensor([[0.5, -0.2]]))
    torch.testing.assert_close(
        scores, torch.sigmoid(float(scale) * torch.tensor([[0.5, -0.2]])
                              - 7.5))


def test_sigmoid_tower_differs_from_the_tiny_clip_in_the_loss_only():
    """The SigLIP-style pre-training config and architecture are the tiny
    CLIP's but for the loss and SigLIP's bias and temperature."""
    from mmengine.config import Config

    from granzsl_mm.models.backbones.open_clip_builder import (
        register_own_configs,
    )
    from tests.fixtures.run_tools import REPO
    register_own_configs()
    import open_clip
    clip = open_clip.get_model_config('TinyCLIP-world')
    sigmoid = open_clip.get_model_config('TinyCLIP-world-sigmoid')
    assert sigmoid.pop('init_logit_bias') == -10
    assert sigmoid.pop('init_logit_scale') == pytest.approx(np.log(10))
    assert sigmoid == clip
    base = Config.fromfile(osp.join(REPO, 'configs',
                                    'pretrain_tiny_clip_demo.py'))
    cfg = Config.fromfile(osp.join(REPO, 'configs',
                                   'pretrain_tiny_siglip_demo.py'))
    assert (cfg.model.arch, cfg.model.loss) == ('TinyCLIP-world-sigmoid',
                                                'siglip')
    assert cfg.optim_wrapper.paramwise_cfg.custom_keys.logit_bias == dict(
        decay_mult=0.0)
    assert cfg.custom_hooks[-1].out_file.endswith('/tiny_siglip.pt')
    for key in ('train_dataloader', 'train_cfg', 'param_scheduler',
                'randomness'):
        assert cfg[key] == base[key], key
    assert cfg.optim_wrapper.optimizer == base.optim_wrapper.optimizer
    # the same seed gives the same initial weights (open_clip draws the
    # bias from no generator): the two towers start alike
    torch.manual_seed(3)
    a = MODELS.build(dict(type='ContrastiveCLIP', arch='TinyCLIP-world',
                          pretrained='random')).clip.state_dict()
    torch.manual_seed(3)
    b = MODELS.build(dict(type='ContrastiveCLIP',
                          arch='TinyCLIP-world-sigmoid', loss='siglip',
                          pretrained='random')).clip.state_dict()
    assert set(b) - set(a) == {'logit_bias'}
    for key, value in a.items():
        if key != 'logit_scale':
            torch.testing.assert_close(b[key], value)
