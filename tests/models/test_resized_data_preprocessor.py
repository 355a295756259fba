"""ResizedClsDataPreprocessor gives VLPL's CLIP input: the ImageNet-
normalised 448 px tensor resized to 336 by torchvision's tensor Resize."""
import pytest
import torch

from granzsl_mm.models.resized_data_preprocessor import (
    ResizedClsDataPreprocessor,
)
from granzsl_mm.structures.constants import IMAGENET_MEAN, IMAGENET_STD


def test_equals_torchvision_resize_of_normalised_tensor():
    transforms = pytest.importorskip('torchvision.transforms')
    gen = torch.Generator().manual_seed(0)
    images = [torch.randint(0, 256, (3, 448, 448), generator=gen,
                            dtype=torch.uint8) for _ in range(2)]
    pre = ResizedClsDataPreprocessor(size=(336, 336), mean=IMAGENET_MEAN,
                                     std=IMAGENET_STD, to_rgb=False)
    got = pre(dict(inputs=images), False)['inputs']
    assert got.shape == (2, 3, 336, 336)
    mean = torch.tensor(IMAGENET_MEAN).view(3, 1, 1)
    std = torch.tensor(IMAGENET_STD).view(3, 1, 1)
    resize = transforms.Resize((336, 336), antialias=True)  # VLPL's
    for img, out in zip(images, got):
        ref = resize((img.float() - mean) / std)
        torch.testing.assert_close(out, ref, rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match='height, width'):
        ResizedClsDataPreprocessor(size=(336, ))
