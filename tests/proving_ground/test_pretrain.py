"""Contrastive pre-training pieces: the caption dataset, the CLIP loss model,
the exported checkpoint, the demo's progress hook."""
import json
import os.path as osp

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
