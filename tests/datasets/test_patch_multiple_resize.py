"""ResizeToPatchMultiple: TagCLIP's test resize (torchvision on PIL)."""
import numpy as np
import pytest
from PIL import Image
from torchvision.transforms import InterpolationMode, Resize

from granzsl_mm.datasets import ResizeToPatchMultiple


def test_matches_torchvision_resize_of_the_pil_image():
    rng = np.random.default_rng(0)
    bgr = rng.integers(0, 256, (37, 50, 3), dtype=np.uint8)
    out = ResizeToPatchMultiple(16)(dict(img=bgr.copy()))
    assert out['img'].shape == (48, 64, 3) and out['img_shape'] == (48, 64)
    # the reference: Resize((ceil16(h), ceil16(w)), BICUBIC) on the RGB image
    ref = Resize((48, 64), interpolation=InterpolationMode.BICUBIC)(
        Image.fromarray(bgr[..., ::-1].copy()))
    np.testing.assert_array_equal(out['img'][..., ::-1], np.asarray(ref))


def test_multiples_are_left_alone_and_options_checked():
    img = np.zeros((32, 48, 3), np.uint8)
    assert ResizeToPatchMultiple(16)(dict(img=img))['img'] is img
    with pytest.raises(ValueError, match='interpolation'):
        ResizeToPatchMultiple(16, interpolation='area')
