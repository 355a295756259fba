"""The pixel limit holds for every format before a decoder allocates."""
import numpy as np
import pytest

from granzsl_mm.utils.image_io import (
    ImageReadError,
    check_image_size,
    read_image_bytes,
)

# A Radiance header declaring 12000 x 9000 (108 MP) over a few bytes: Pillow
# cannot size it, OpenCV would allocate the whole float image first.
HDR = (b'#?RADIANCE\nFORMAT=32-bit_rle_rgbe\n\n-Y 9000 +X 12000\n'
       + bytes(64))


def test_a_format_pillow_cannot_size_is_not_decoded(monkeypatch):
    import cv2
    calls = []
    monkeypatch.setattr(cv2, 'imdecode',
                        lambda *a, **k: calls.append(a) or None)
    with pytest.raises(ImageReadError, match=r'big\.hdr: not an image format '
                       'whose size can be read.*convert it to PNG'):
        read_image_bytes(HDR, 'big.hdr')
    with pytest.raises(ImageReadError, match='size can be read'):
        check_image_size(HDR, 'big.hdr')
    assert calls == []  # no decoder ran


def test_identified_formats_pass_with_their_size(tmp_path):
    import cv2
    img = np.zeros((5, 7, 3), np.uint8)
    img[1, 2] = (10, 20, 30)
    ok, png = cv2.imencode('.png', img)
    assert ok
    assert check_image_size(png.tobytes(), 'x.png') == (7, 5)
    np.testing.assert_array_equal(read_image_bytes(png.tobytes(), 'x.png'),
                                  img)
