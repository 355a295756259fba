"""One image reader for the whole project: pixel limit, bit depth, names.

The readers of user images (dataset pipelines through our
``LoadImageFromFile`` with its default ``color`` / ``cv2`` decoding, the
inferencer's image paths, the web app's uploads, ``check_images='verify'``)
decode through :func:`read_image_bytes`, so they share

* **one pixel limit** (image bombs): the header is read with Pillow first
  and an image of more than :func:`max_image_pixels` pixels is refused with
  :class:`ImageTooLargeError` before anything is decoded. The limit is
  ``DEFAULT_MAX_IMAGE_PIXELS`` (100 megapixels), or the environment
  variable ``GRANZSL_MAX_IMAGE_PIXELS``, or :func:`set_max_image_pixels`.
  A format whose header Pillow cannot read (one only OpenCV decodes, such
  as Radiance HDR) has no size here and is decoded unchecked. Readers that
  decode another way (``LoadImageFromFile`` with other options, the web
  app's Pillow conversion) call :func:`image_size` first for the same
  limit;
* **real bit depth**: 16-bit PNGs and TIFFs are scaled to 8 bits by their
  significant bits (the PNG ``sBIT`` chunk, else the smallest of 8, 10, 12,
  14, 16 bits that holds the largest value), not by a fixed ``>> 8`` that
  turns a 16-bit file holding 0-255 into a black picture;
* **errors that name the file** (:class:`ImageReadError`): empty files,
  undecodable bytes.

Imports NumPy at module level; Pillow, OpenCV and mmcv's decoder when an
image is read (no higher wing: ground floor).
"""
import io
import os
import re
import warnings
from typing import Optional, Tuple

import numpy as np

__all__ = ['DEFAULT_MAX_IMAGE_PIXELS', 'ImageReadError', 'ImageTooLargeError',
           'max_image_pixels', 'set_max_image_pixels', 'image_size',
           'check_image_size',
           'read_image_bytes', 'read_image', 'scale_to_uint8', 'verify_image']

DEFAULT_MAX_IMAGE_PIXELS = 100_000_000
ENV_VAR = 'GRANZSL_MAX_IMAGE_PIXELS'
_limit: Optional[int] = None  # set_max_image_pixels; None: env / default


class ImageReadError(ValueError):
    """An image file that cannot be read; the message names the file."""


class ImageTooLargeError(ImageReadError):
    """An image above the pixel limit (refused before decoding)."""


def max_image_pixels() -> int:
    """The pixel limit in force (see the module docstring)."""
    if _limit is not None:
        return _limit
    value = os.environ.get(ENV_VAR)
    if value:
        try:
            return int(value)
        except ValueError:
            raise ValueError(f'{ENV_VAR} must be an integer number of '
                             f'pixels, got {value!r}') from None
    return DEFAULT_MAX_IMAGE_PIXELS


def set_max_image_pixels(limit: Optional[int]) -> None:
    """Set the pixel limit of every image reader of this process.

    Args:
        limit (int, optional): Largest ``width * height`` accepted; ``None``
            goes back to ``GRANZSL_MAX_IMAGE_PIXELS`` or the default.
    """
    global _limit
    if limit is not None and int(limit) < 1:
        raise ValueError(f'the pixel limit must be >= 1, got {limit}')
    _limit = None if limit is None else int(limit)


def _too_large(name: str, pixels: int, size: str, limit: int
               ) -> ImageTooLargeError:
    return ImageTooLargeError(
        f'{name}: the image is {size} = {pixels} pixels, above the limit of '
        f'{limit} pixels (an image bomb?). If it is a genuine picture, raise '
        f'the limit: {ENV_VAR}=<pixels> or granzsl_mm.utils.image_io.'
        'set_max_image_pixels(<pixels>).')


def image_size(data: bytes, name: str = '<image>',
               limit: Optional[int] = None) -> Optional[Tuple[int, int]]:
    """``(width, height)`` from the header, checked against the limit.

    Args:
        data (bytes): The encoded image.
        name (str): Shown in messages (the path).
        limit (int, optional): Pixel limit (default :func:`max_image_pixels`).

    Returns:
        tuple[int, int] | None: The size (``(0, 0)`` when only Pillow's own
        bomb check read it and found it within ``limit``), or ``None`` when
        Pillow does not know the format.

    Raises:
        ImageTooLargeError: Above the limit.
    """
    from PIL import Image, UnidentifiedImageError
    limit = max_image_pixels() if limit is None else limit
    try:
        with warnings.catch_warnings():
            warnings.simplefilter('ignore', Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as img:
                width, height = img.size
    except Image.DecompressionBombError as e:  # above 2x Pillow's own limit
        found = re.search(r'\((\d+) pixels\)', str(e))
        pixels = int(found.group(1)) if found else limit + 1
        if pixels > limit:
            raise _too_large(name, pixels, 'larger than Pillow allows',
                             limit) from None
        return 0, 0
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        return None
    if width * height > limit:
        raise _too_large(name, width * height, f'{width}x{height}', limit)
    return width, height


def check_image_size(data: bytes, name: str = '<image>',
                     limit: Optional[int] = None) -> Tuple[int, int]:
    """The pixel limit, before any decoder allocates: the size is read from
    the header, and an image whose size cannot be read is refused.

    OpenCV decodes formats Pillow cannot size (Radiance ``.hdr``, ``.exr``,
    ``.pfm``); a 12000 x 9000 ``.hdr`` would otherwise skip the limit.

    Args:
        data (bytes): The encoded image.
        name (str): Shown in messages (the path).
        limit (int, optional): Pixel limit (default :func:`max_image_pixels`).

    Returns:
        tuple[int, int]: As :func:`image_size`.

    Raises:
        ImageTooLargeError: Above the limit.
        ImageReadError: A format whose size cannot be read from its header.
    """
    size = image_size(data, name, limit)
    if size is None:
        raise ImageReadError(
            f'{name}: not an image format whose size can be read before '
            'decoding (Pillow does not identify it), so it is not decoded; '
            'convert it to PNG or JPEG.')
    return size


def _significant_bits(data: bytes, values: np.ndarray) -> int:
    """Bits actually used by a 16-bit image (``sBIT`` chunk, else max)."""
    if data[:8] == b'\x89PNG\r\n\x1a\n':
        pos = data.find(b'sBIT', 8, 1 << 16)
        if pos > 4:
            length = int.from_bytes(data[pos - 4:pos], 'big')
            bits = [b for b in data[pos + 4:pos + 4 + length]]
            if bits and 1 <= max(bits) <= 16:
                return max(bits)
    peak = int(values.max()) if values.size else 0
    for bits in (8, 10, 12, 14, 16):
        if peak < (1 << bits):
            return bits
    return 16


def scale_to_uint8(values: np.ndarray, bits: int) -> np.ndarray:
    """Integer image of ``bits`` significant bits to uint8 (rounded)."""
    top = float((1 << bits) - 1)
    scaled = np.rint(values.astype(np.float64) * (255.0 / top))
    return np.clip(scaled, 0, 255).astype(np.uint8)


def _is_16_bit(data: bytes) -> bool:
    if data[:8] == b'\x89PNG\r\n\x1a\n' and len(data) > 24:
        return data[24] == 16  # IHDR bit depth
    return data[:4] in (b'II*\x00', b'MM\x00*')  # TIFF: check after decoding


def read_image_bytes(data: bytes, name: str = '<image>',
                     limit: Optional[int] = None) -> np.ndarray:
    """Decode an image to ``[H, W, 3]`` uint8 BGR (mmcv's convention).

    Args:
        data (bytes): The encoded image.
        name (str): Shown in messages (the path).
        limit (int, optional): Pixel limit (default :func:`max_image_pixels`).

    Returns:
        np.ndarray: The image, BGR.

    Raises:
        ImageReadError: Empty or undecodable data (message names ``name``).
        ImageTooLargeError: Above the pixel limit.
    """
    import cv2
    if not data:
        raise ImageReadError(f'{name}: the file is empty (0 bytes); replace '
                             'or remove it.')
    check_image_size(data, name, limit)
    buf = np.frombuffer(data, np.uint8)
    try:
        if _is_16_bit(data):
            img = cv2.imdecode(buf, cv2.IMREAD_UNCHANGED)
            if img is not None and img.dtype == np.uint16:
                img = scale_to_uint8(img, _significant_bits(data, img))
            if img is not None and img.ndim == 2:
                img = cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)
            elif img is not None and img.shape[2] == 4:
                img = cv2.cvtColor(img, cv2.COLOR_BGRA2BGR)
            if img is not None and img.dtype != np.uint8:
                img = None
        else:
            img = None
        if img is None:
            import mmcv
            img = mmcv.imfrombytes(data, flag='color')
    except cv2.error as e:
        raise ImageReadError(f'{name}: cannot decode the image '
                             f'(cv2.error: {str(e).strip()[:200]}); '
                             'replace or remove it.') from e
    if img is None:
        raise ImageReadError(f'{name}: cannot decode the image (not an image '
                             'or a truncated file); replace or remove it.')
    return img


def _read_file(path: str) -> bytes:
    """The bytes of an image file; an OS error names the file."""
    try:
        with open(path, 'rb') as f:
            return f.read()
    except OSError as e:
        raise ImageReadError(f'{path}: cannot read the file '
                             f'({type(e).__name__}: {e.strerror or e})') from e


def read_image(path: str, limit: Optional[int] = None) -> np.ndarray:
    """Read an image file (see :func:`read_image_bytes`).

    Args:
        path (str): Image file.
        limit (int, optional): Pixel limit.

    Returns:
        np.ndarray: ``[H, W, 3]`` uint8 BGR.
    """
    return read_image_bytes(_read_file(path), path, limit)


def verify_image(path: str, limit: Optional[int] = None) -> None:
    """Decode an image in full, strictly: Pillow ``load()`` (a truncated
    file is an error, where OpenCV pads it silently) and the project's
    reader (:func:`read_image_bytes`).

    Args:
        path (str): Image file.
        limit (int, optional): Pixel limit.

    Raises:
        ImageReadError: The file cannot be read or decoded (names the file).
    """
    from PIL import Image, UnidentifiedImageError
    data = _read_file(path)
    size = image_size(data, path, limit)
    if size is not None:
        try:
            with Image.open(io.BytesIO(data)) as img:
                img.load()
        except (UnidentifiedImageError, OSError, ValueError,
                SyntaxError) as e:
            raise ImageReadError(f'{path}: cannot decode the image '
                                 f'({type(e).__name__}: {e}); replace or '
                                 'remove it.') from e
    read_image_bytes(data, path, limit)
