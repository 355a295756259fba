"""A procedural multi-label world where zero-shot transfer is measurable.

Every object is a combination of factors: a *colour*, a *shape* and a
*size*. Classes come at three granularity levels that form a hierarchy::

    shape (root, not a class)
    ├── round shape            level 0 (coarse)
    │   ├── circle             level 1 (basic)
    │   │   ├── red circle     level 2 (fine: colour + shape)
    │   │   └── ...
    │   └── ring
    └── angular shape
        ├── square
        └── triangle

An image holds 1-4 objects and is labelled with every class of every object
(its fine class, its shape and its shape group): multi-label at several
levels. The *unseen* classes are fine classes (colour + shape combinations)
whose colour and shape both appear in seen classes and in captions, only
never together: pre-training images never contain an unseen combination, so
their captions never name an unseen class as a whole. That is what makes
zero-shot transfer possible and measurable.

The levels are configurable (:attr:`WorldSpec.levels`). The first world
(``'v1'``, :data:`DEFAULT_WORLD`) has the three above and 5 unseen fine
classes. The evidence world (``'v2'``, :data:`WORLD_V2`) adds two
compositional levels, *colour + shape group* (``red round shape``) and *size
+ colour + shape* (``big red circle``), and holds unseen classes out on each
of the three compositional levels (at least 3 per level): a class whose
objects all belong to an unseen class is unseen too (``red circle`` under an
unseen ``red round shape``).

This module holds the world's rules (sampling, labels, captions,
descriptions); :mod:`.world_spec` the spec and the class lists,
:mod:`.render` draws images and
:mod:`.world_io` writes the COCO-ZSL files.
"""
import dataclasses
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from .world_spec import (
    DEFAULT_WORLD,
    LEVEL_KINDS,
    WORLD_V2,
    WORLDS,
    WorldSpec,
    get_world,
    world_classes,
)

__all__ = [
    'WorldSpec', 'WorldObject', 'DEFAULT_WORLD', 'WORLD_V2', 'WORLDS',
    'LEVEL_KINDS', 'get_world', 'world_classes', 'sample_objects',
    'object_labels', 'object_classes', 'caption_for', 'world_descriptions',
    'contains_phrase'
]


@dataclasses.dataclass(frozen=True)
class WorldObject:
    """One object of an image: factors and placement (pixels)."""

    colour: str
    shape: str
    size: str
    cx: float
    cy: float
    radius: float

    @property
    def fine_class(self) -> str:
        return f'{self.colour} {self.shape}'


def _place(rng: np.random.Generator, radii: Sequence[float], side: int,
           tries: int = 60) -> List[Tuple[int, float, float]]:
    """Non-overlapping centres for discs of the given radii.

    Returns ``(index into radii, cx, cy)`` of the discs that found room.
    """
    placed: List[Tuple[int, float, float]] = []
    for k, r in enumerate(radii):
        for _ in range(tries):
            cx, cy = rng.uniform(r + 1, side - r - 1, size=2)
            if all((cx - x) ** 2 + (cy - y) ** 2 > (r + radii[j] + 2) ** 2
                   for j, x, y in placed):
                placed.append((k, float(cx), float(cy)))
                break
    return placed


def sample_objects(rng: np.random.Generator,
                   spec: WorldSpec = DEFAULT_WORLD,
                   include_unseen: bool = True) -> List[WorldObject]:
    """Draw the objects of one image.

    Args:
        rng (np.random.Generator): Random stream (all randomness of the image
            comes from it).
        spec (WorldSpec): The world.
        include_unseen (bool): Test images: unseen colour-shape combinations
            may be drawn, 1 .. max_objects objects uniformly. Otherwise
            (pre-training / training images) no unseen combination and the
            object count follows ``spec.train_count_weights``.

    Returns:
        list[WorldObject]: 1 to ``spec.max_objects`` non-overlapping objects.
    """
    if 'size colour shape' in spec.levels:
        return _sample_sized(rng, spec, include_unseen)
    allowed = [c for c in spec.fine_classes
               if include_unseen or c not in spec.unseen]
    if include_unseen:
        count = int(rng.integers(1, spec.max_objects + 1))
    else:
        weights = np.asarray(spec.train_count_weights, dtype=np.float64)
        count = 1 + int(rng.choice(spec.max_objects, p=weights / weights.sum()))
    picks = rng.integers(0, len(allowed), size=count)
    size_names = [s for s, _ in spec.sizes]
    size_ranges = dict(spec.sizes)
    sizes = [size_names[i] for i in rng.integers(0, len(size_names), count)]
    radii = [float(rng.uniform(*size_ranges[s])) * spec.image_size
             for s in sizes]
    objects = []
    for k, cx, cy in _place(rng, radii, spec.image_size):
        colour, shape = allowed[picks[k]].split(' ', 1)
        objects.append(WorldObject(colour, shape, sizes[k], cx, cy, radii[k]))
    return objects


def _sample_sized(rng: np.random.Generator, spec: WorldSpec,
                  include_unseen: bool) -> List[WorldObject]:
    """:func:`sample_objects` for worlds with a size level: an object is a
    (size, colour, shape) triple drawn uniformly among the allowed ones."""
    unseen = set(spec.unseen_closure)
    allowed = [(z, c, s) for s in spec.shape_names for c in spec.colour_names
               for z in spec.size_names
               if include_unseen or f'{z} {c} {s}' not in unseen]
    if include_unseen:
        count = int(rng.integers(1, spec.max_objects + 1))
    else:
        weights = np.asarray(spec.train_count_weights, dtype=np.float64)
        count = 1 + int(rng.choice(spec.max_objects, p=weights / weights.sum()))
    picks = [allowed[i] for i in rng.integers(0, len(allowed), size=count)]
    size_ranges = dict(spec.sizes)
    radii = [float(rng.uniform(*size_ranges[z])) * spec.image_size
             for z, _, _ in picks]
    objects = []
    for k, cx, cy in _place(rng, radii, spec.image_size):
        size, colour, shape = picks[k]
        objects.append(WorldObject(colour, shape, size, cx, cy, radii[k]))
    return objects


def object_classes(obj: WorldObject,
                   spec: WorldSpec = DEFAULT_WORLD) -> List[str]:
    """The classes one object belongs to, finest level first (first world:
    fine class, shape, group)."""
    names = spec.names_of(obj.size, obj.colour, obj.shape)
    return [names[k] for k in reversed(spec.levels)]


def object_labels(objects: Sequence[WorldObject],
                  spec: WorldSpec = DEFAULT_WORLD) -> List[str]:
    """Every class the objects belong to (every level), sorted in class
    order."""
    names = set()
    for obj in objects:
        names.update(object_classes(obj, spec))
    order = world_classes(spec)['classes']
    return [c for c in order if c in names]


CAPTION_TEMPLATES = ('a picture of {}.', '{} on a light background.',
                     'there is {}.', 'an image with {}.', '{}.')


def caption_for(objects: Sequence[WorldObject], rng: np.random.Generator,
                spec: WorldSpec = DEFAULT_WORLD) -> str:
    """A plain-language caption of an image's objects.

    Each object reads ``a [size] <colour> <shape>``; now and then the shape
    is named by its group (``a red round shape``), so the coarse class
    words occur in captions too. Objects are listed in random order.

    Args:
        objects (Sequence[WorldObject]): The image's objects.
        rng (np.random.Generator): Random stream for the wording.
        spec (WorldSpec): The world.

    Returns:
        str: The caption.
    """
    if not objects:
        raise ValueError('an image needs at least one object')
    group_of = dict(spec.shapes)
    phrases = []
    for k in rng.permutation(len(objects)):
        obj = objects[k]
        noun = group_of[obj.shape] if rng.random() < 0.15 else obj.shape
        size = f'{obj.size} ' if rng.random() < 0.5 else ''
        phrases.append(f'a {size}{obj.colour} {noun}')
    if len(phrases) == 1:
        listed = phrases[0]
    else:
        listed = ', '.join(phrases[:-1]) + ' and ' + phrases[-1]
    template = CAPTION_TEMPLATES[int(rng.integers(len(CAPTION_TEMPLATES)))]
    return template.format(listed)


def contains_phrase(text: str, phrase: str) -> bool:
    """Whether ``phrase`` occurs in ``text`` as whole words (case-blind)."""
    words = ''.join(ch if ch.isalnum() else ' ' for ch in text.lower()).split()
    target = phrase.lower().split()
    n = len(target)
    return any(words[i:i + n] == target for i in range(len(words) - n + 1))


def world_descriptions(spec: WorldSpec = DEFAULT_WORLD,
                       cooccurrence: Optional[Dict[str, List[str]]] = None
                       ) -> Dict[str, dict]:
    """Class descriptions (``granzsl_mm.descriptions/v1`` entries) from the
    world's rules: attributes from the factors, parents / children from the
    hierarchy, co-occurrence from the sampling rule (objects are drawn
    independently, so every class appears with shapes of other kinds).

    Args:
        spec (WorldSpec): The world.
        cooccurrence (dict, optional): Class -> co-occurrence phrases that
            replace the rule-based ones.

    Returns:
        dict[str, dict]: Class name -> entry, in class order.
    """
    attrs = dict(spec.shape_attributes)
    group_attrs = dict(spec.group_attributes)
    group_of = dict(spec.shapes)
    info = world_classes(spec)
    has = set(spec.levels)
    default_co = ['shapes of other colours', 'a light background']
    out = {}
    for name in info['classes']:
        level = info['class_levels'][info['classes'].index(name)]
        kind = spec.levels[level]
        if kind == 'group':
            members = [s for s in spec.shape_names if group_of[s] == name]
            entry = dict(attributes=list(group_attrs[name]),
                         parents=['shape'], children=members)
        elif kind == 'shape':
            entry = dict(
                attributes=list(attrs[name]),
                parents=[group_of[name], 'shape'],
                children=[f'{c} {name}' for c in spec.colour_names])
        elif kind == 'colour group':
            colour, group = name.split(' ', 1)
            entry = dict(
                attributes=[f'is {colour}'] + list(group_attrs[group]),
                parents=[group, 'shape'],
                children=[f'{colour} {s}' for s in spec.shape_names
                          if group_of[s] == group])
        elif kind == 'colour shape':
            colour, shape = name.split(' ', 1)
            parents = [shape, group_of[shape], 'shape']
            if 'colour group' in has:
                parents.insert(1, f'{colour} {group_of[shape]}')
            entry = dict(attributes=[f'is {colour}'] + list(attrs[shape]),
                         parents=parents)
            if 'size colour shape' in has:
                entry['children'] = [f'{z} {name}' for z in spec.size_names]
        else:  # size colour shape
            size, colour, shape = name.split(' ', 2)
            entry = dict(
                attributes=[f'is {size}', f'is {colour}'] + list(attrs[shape]),
                parents=[f'{colour} {shape}', shape,
                         f'{colour} {group_of[shape]}', group_of[shape],
                         'shape'])
        entry['cooccurrence'] = list((cooccurrence or {}).get(name,
                                                              default_co))
        entry['source'] = 'derived'
        out[name] = entry
    return out
