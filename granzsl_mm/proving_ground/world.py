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

This module holds the world's rules (classes, sampling, captions,
descriptions); :mod:`.render` draws images and
:mod:`.world_io` writes the COCO-ZSL files.
"""
import dataclasses
import hashlib
import json
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

__all__ = [
    'WorldSpec', 'WorldObject', 'DEFAULT_WORLD', 'world_classes',
    'sample_objects', 'object_labels', 'caption_for', 'world_descriptions',
    'contains_phrase'
]

Colour = Tuple[int, int, int]


@dataclasses.dataclass(frozen=True)
class WorldSpec:
    """The factors and the class split of a synthetic world.

    Args:
        colours: Colour name -> RGB, in class order.
        shapes: Shape name -> its group (the coarse class), in class order.
        shape_attributes: Shape name -> visual attribute phrases (verb
            phrases, used in the class descriptions).
        group_attributes: Shape group -> visual attribute phrases.
        unseen: Fine class names (``'<colour> <shape>'``) held out: never in
            pre-training / training images or captions.
        sizes: Size word -> radius range as a fraction of the image side.
        image_size: Side of the rendered (square) images in pixels.
        max_objects: Objects per test image are drawn uniformly from
            ``1 .. max_objects``.
        train_count_weights: Relative odds of ``1 .. max_objects`` objects in
            a pre-training / training image (few-object images teach which
            colour goes with which shape).
    """

    colours: Tuple[Tuple[str, Colour], ...] = (
        ('red', (215, 35, 35)), ('green', (35, 165, 55)),
        ('blue', (40, 75, 220)), ('yellow', (235, 200, 30)),
        ('purple', (140, 50, 180)))
    shapes: Tuple[Tuple[str, str], ...] = (
        ('circle', 'round shape'), ('ring', 'round shape'),
        ('square', 'angular shape'), ('triangle', 'angular shape'))
    shape_attributes: Tuple[Tuple[str, Tuple[str, ...]], ...] = (
        ('circle', ('is round', 'has no corners', 'is filled')),
        ('ring', ('is round', 'has a hole in the middle', 'is a thick outline')),
        ('square', ('has four corners', 'has four equal sides', 'is filled')),
        ('triangle', ('has three corners', 'points upwards', 'is filled')))
    group_attributes: Tuple[Tuple[str, Tuple[str, ...]], ...] = (
        ('round shape', ('is round', 'has a curved outline', 'has no corners')),
        ('angular shape', ('has straight sides', 'has sharp corners')))
    unseen: Tuple[str, ...] = ('red ring', 'green triangle', 'blue circle',
                               'yellow square', 'purple circle')
    sizes: Tuple[Tuple[str, Tuple[float, float]], ...] = (
        ('small', (0.10, 0.13)), ('big', (0.16, 0.22)))
    image_size: int = 64
    max_objects: int = 4
    train_count_weights: Tuple[float, ...] = (4, 3, 2, 1)

    def __post_init__(self) -> None:
        fine = set(self.fine_classes)
        bad = [c for c in self.unseen if c not in fine]
        if bad:
            raise ValueError(f'unseen classes {bad} are not colour + shape '
                             f'combinations of this world')
        seen_fine = [c for c in self.fine_classes if c not in self.unseen]
        for colour in self.colour_names:
            if not any(c.split(' ', 1)[0] == colour for c in seen_fine):
                raise ValueError(f'colour {colour!r} appears in no seen class: '
                                 'its unseen combinations could not transfer')
        for shape in self.shape_names:
            if not any(c.split(' ', 1)[1] == shape for c in seen_fine):
                raise ValueError(f'shape {shape!r} appears in no seen class')
        if not 1 <= self.max_objects <= 6:
            raise ValueError('max_objects must lie in [1, 6]')
        if len(self.train_count_weights) != self.max_objects or min(
                self.train_count_weights) < 0 or not sum(
                    self.train_count_weights) > 0:
            raise ValueError('train_count_weights needs max_objects '
                             'non-negative weights, not all zero')

    @property
    def colour_names(self) -> List[str]:
        return [c for c, _ in self.colours]

    @property
    def shape_names(self) -> List[str]:
        return [s for s, _ in self.shapes]

    @property
    def groups(self) -> List[str]:
        return list(dict.fromkeys(g for _, g in self.shapes))

    @property
    def fine_classes(self) -> List[str]:
        return [f'{c} {s}' for s in self.shape_names for c in self.colour_names]

    def to_dict(self) -> dict:
        """JSON-able form (lists instead of tuples)."""
        return json.loads(json.dumps(dataclasses.asdict(self)))

    def fingerprint(self) -> str:
        """Short content hash of the spec (names cached artefacts)."""
        text = json.dumps(self.to_dict(), sort_keys=True)
        return hashlib.sha1(text.encode()).hexdigest()[:12]


DEFAULT_WORLD = WorldSpec()


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


def world_classes(spec: WorldSpec = DEFAULT_WORLD) -> Dict[str, object]:
    """Class lists, levels and parents of a world (seen then unseen).

    Args:
        spec (WorldSpec): The world.

    Returns:
        dict: ``classes`` (seen then unseen), ``seen_classes``,
        ``unseen_classes``, ``class_levels`` (0 coarse, 1 shape, 2 fine),
        ``class_parents`` (direct parent class name or None).
    """
    group_of = dict(spec.shapes)
    levels, parents = {}, {}
    for g in spec.groups:
        levels[g], parents[g] = 0, None
    for s in spec.shape_names:
        levels[s], parents[s] = 1, group_of[s]
    for f in spec.fine_classes:
        levels[f], parents[f] = 2, f.split(' ', 1)[1]
    ordered = spec.groups + spec.shape_names + spec.fine_classes
    seen = [c for c in ordered if c not in spec.unseen]
    unseen = [c for c in spec.fine_classes if c in spec.unseen]
    classes = seen + unseen
    return dict(classes=classes, seen_classes=seen, unseen_classes=unseen,
                class_levels=[levels[c] for c in classes],
                class_parents=[parents[c] for c in classes])


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


def object_labels(objects: Sequence[WorldObject],
                  spec: WorldSpec = DEFAULT_WORLD) -> List[str]:
    """Every class the objects belong to (fine, shape, group), sorted in
    class order."""
    group_of = dict(spec.shapes)
    names = set()
    for obj in objects:
        names.update((obj.fine_class, obj.shape, group_of[obj.shape]))
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
    group_of = dict(spec.shapes)
    info = world_classes(spec)
    default_co = ['shapes of other colours', 'a light background']
    out = {}
    for name in info['classes']:
        level = info['class_levels'][info['classes'].index(name)]
        if level == 0:
            members = [s for s in spec.shape_names if group_of[s] == name]
            entry = dict(attributes=list(dict(spec.group_attributes)[name]),
                         parents=['shape'], children=members)
        elif level == 1:
            entry = dict(
                attributes=list(attrs[name]),
                parents=[group_of[name], 'shape'],
                children=[f'{c} {name}' for c in spec.colour_names])
        else:
            colour, shape = name.split(' ', 1)
            entry = dict(
                attributes=[f'is {colour}'] + list(attrs[shape]),
                parents=[shape, group_of[shape], 'shape'])
        entry['cooccurrence'] = list((cooccurrence or {}).get(name,
                                                              default_co))
        entry['source'] = 'derived'
        out[name] = entry
    return out
