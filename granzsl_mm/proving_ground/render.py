"""Drawing of the synthetic world's images (PIL, anti-aliased, seeded)."""
from typing import Sequence

import numpy as np
from PIL import Image, ImageDraw

from .world import DEFAULT_WORLD, WorldObject, WorldSpec

__all__ = ['render_image']

_SUPERSAMPLE = 4


def _jitter(rgb: Sequence[int], rng: np.random.Generator,
            amount: int = 18) -> tuple:
    values = np.asarray(rgb) + rng.integers(-amount, amount + 1, size=3)
    return tuple(int(v) for v in np.clip(values, 0, 255))


def _draw(draw: ImageDraw.ImageDraw, obj: WorldObject, fill: tuple,
          background: tuple, scale: int) -> None:
    cx, cy, r = obj.cx * scale, obj.cy * scale, obj.radius * scale
    if obj.shape == 'circle':
        draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=fill)
    elif obj.shape == 'ring':
        draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=fill)
        q = 0.55 * r
        draw.ellipse((cx - q, cy - q, cx + q, cy + q), fill=background)
    elif obj.shape == 'square':
        h = 0.85 * r
        draw.rectangle((cx - h, cy - h, cx + h, cy + h), fill=fill)
    elif obj.shape == 'triangle':
        draw.polygon([(cx, cy - r), (cx - 0.97 * r, cy + 0.8 * r),
                      (cx + 0.97 * r, cy + 0.8 * r)], fill=fill)
    else:
        raise ValueError(f'no drawing rule for shape {obj.shape!r}')


def render_image(objects: Sequence[WorldObject], rng: np.random.Generator,
                 spec: WorldSpec = DEFAULT_WORLD) -> np.ndarray:
    """Draw an image of the given objects.

    A light, slightly tinted background, each object in its colour (jittered
    per object), drawn at 4x and downsampled (anti-aliasing), then mild
    pixel noise.

    Args:
        objects (Sequence[WorldObject]): Objects with placements in pixels of
            a ``spec.image_size`` square.
        rng (np.random.Generator): Random stream (tint, jitter, noise).
        spec (WorldSpec): The world.

    Returns:
        np.ndarray: ``[S, S, 3]`` uint8 RGB image.
    """
    side = spec.image_size
    big = side * _SUPERSAMPLE
    background = _jitter((236, 236, 232), rng, amount=12)
    image = Image.new('RGB', (big, big), background)
    draw = ImageDraw.Draw(image)
    colours = dict(spec.colours)
    for obj in objects:
        _draw(draw, obj, _jitter(colours[obj.colour], rng), background,
              _SUPERSAMPLE)
    image = image.resize((side, side), Image.LANCZOS)
    pixels = np.asarray(image, dtype=np.int16)
    noise = rng.normal(0.0, 3.0, size=pixels.shape)
    return np.clip(pixels + noise, 0, 255).astype(np.uint8)
