"""A tiny trained-looking GranZSL (random TinyCLIP, random learned names)
written as a config + checkpoint, shared by the web-app tests."""
import os.path as osp
from typing import List, NamedTuple

import numpy as np
import pytest
import torch

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DEMO_CONFIG = osp.join(REPO, 'configs', 'granzsl_demo.py')
CLASS_NAMES = ['cat', 'dog', 'red car', 'tree', 'boat']


class TinyModel(NamedTuple):
    config: str
    checkpoint: str
    class_names: List[str]
    model: torch.nn.Module


def write_tiny_granzsl(folder: str, class_names: List[str], seed: int = 0
                       ) -> TinyModel:
    """Config (the demo config with ``class_names``) and checkpoint of a
    GranZSL on TinyCLIP-test whose learned names are random (seeded)."""
    from mmengine.runner import save_checkpoint

    from granzsl_mm.apis import get_model
    config = osp.join(folder, f'tiny_granzsl_{len(class_names)}.py')
    with open(config, 'w', encoding='utf-8') as f:
        f.write(f'_base_ = [{DEMO_CONFIG!r}]\n'
                # a random tower, asked for explicitly (the demo config
                # names the world's pre-trained tiny CLIP)
                f"model = dict(backbone=dict(pretrained='random'), "
                f'num_classes={len(class_names)}, '
                f'num_seen_classes={len(class_names) - 2}, '
                f'class_names={class_names!r})\n')
    torch.manual_seed(seed)
    model = get_model(config)
    with torch.no_grad():
        learned = model.name_learner.name_vectors
        learned.copy_(torch.randn_like(learned))
    checkpoint = osp.join(folder, f'tiny_granzsl_{len(class_names)}.pth')
    save_checkpoint(dict(state_dict=model.state_dict(),
                         meta=dict(dataset_meta=dict(classes=class_names))),
                    checkpoint)
    return TinyModel(config, checkpoint, list(class_names), model.eval())


def write_test_image(path: str, seed: int = 0, size=(96, 128)) -> str:
    """A picture with structure (gradient, a disc, a bar) plus noise."""
    from PIL import Image
    rng = np.random.default_rng(seed)
    h, w = size
    yy, xx = np.mgrid[0:h, 0:w]
    img = np.zeros((h, w, 3), dtype=np.float64)
    img[..., 0] = 255 * xx / w
    img[..., 1] = 255 * yy / h
    img[..., 2] = 120
    disc = (yy - h * 0.6) ** 2 + (xx - w * 0.3) ** 2 < (h * 0.25) ** 2
    img[disc] = (240, 220, 30)
    img[int(h * 0.15):int(h * 0.3), int(w * 0.55):int(w * 0.9)] = (20, 40, 200)
    img += rng.normal(0, 12, img.shape)
    Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).save(path)
    return path


@pytest.fixture(scope='session')
def tiny_granzsl(tmp_path_factory) -> TinyModel:
    return write_tiny_granzsl(str(tmp_path_factory.mktemp('tiny_granzsl')),
                              CLASS_NAMES)
