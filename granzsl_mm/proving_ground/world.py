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

This module holds the world: its spec (factors, levels, class split, the
named worlds, the class lists) and its rules (sampling, labels, captions,
descriptions); :mod:`.render` draws images and :mod:`.world_io` writes the
COCO-ZSL files.
"""
import dataclasses
import hashlib
import json
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

__all__ = [
    'WorldSpec', 'WorldObject', 'DEFAULT_WORLD', 'WORLD_V2', 'WORLDS',
    'LEVEL_KINDS', 'get_world', 'world_classes', 'sample_objects',
    'object_labels', 'object_classes', 'caption_for', 'world_descriptions',
    'contains_phrase'
]

# What a class of each kind of level names: its factors, coarse to fine.
LEVEL_KINDS = ('group', 'shape', 'colour group', 'colour shape',
               'size colour shape')
_V1_LEVELS = ('group', 'shape', 'colour shape')

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
        levels: The granularity levels, coarse to fine, each one of
            :data:`LEVEL_KINDS`; ``'group'``, ``'shape'`` and
            ``'colour shape'`` are always there. A field added after the
            first world: left out of :meth:`to_dict` (and the fingerprint)
            at its default, so the first world's artefacts keep their names.
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
    levels: Tuple[str, ...] = _V1_LEVELS

    def __post_init__(self) -> None:
        bad = [k for k in self.levels if k not in LEVEL_KINDS]
        if bad or len(set(self.levels)) != len(self.levels) or not set(
                _V1_LEVELS) <= set(self.levels):
            raise ValueError(f'levels must be distinct kinds of {LEVEL_KINDS} '
                             f'including {_V1_LEVELS}, got {self.levels}')
        compositional = set(self.classes_of_kind('colour shape'))
        for kind in ('colour group', 'size colour shape'):
            if kind in self.levels:
                compositional |= set(self.classes_of_kind(kind))
        bad = [c for c in self.unseen if c not in compositional]
        if bad:
            kinds = [k for k in self.levels if 'colour' in k]
            raise ValueError(f'unseen classes {bad} are not colour + shape '
                             'combinations (or classes of the other '
                             f'compositional levels of {kinds}) of this world')
        unseen = set(self.unseen_closure)
        seen_fine = [c for c in self.fine_classes if c not in unseen]
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
        if 'size colour shape' in self.levels:
            for size in self.size_names:
                if all(t in unseen for t in self.classes_of_kind(
                        'size colour shape') if t.split(' ', 1)[0] == size):
                    raise ValueError(f'size {size!r} appears in no seen '
                                     'class')

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
    def size_names(self) -> List[str]:
        return [z for z, _ in self.sizes]

    @property
    def fine_classes(self) -> List[str]:
        """The colour + shape classes (the finest level of the first
        world)."""
        return [f'{c} {s}' for s in self.shape_names for c in self.colour_names]

    def classes_of_kind(self, kind: str) -> List[str]:
        """Class names of one level kind, in class order."""
        if kind == 'group':
            return self.groups
        if kind == 'shape':
            return self.shape_names
        if kind == 'colour group':
            return [f'{c} {g}' for g in self.groups for c in self.colour_names]
        if kind == 'colour shape':
            return self.fine_classes
        if kind == 'size colour shape':
            return [f'{z} {c} {s}' for s in self.shape_names
                    for c in self.colour_names for z in self.size_names]
        raise ValueError(f'unknown level kind {kind!r}')

    def names_of(self, size: str, colour: str, shape: str) -> Dict[str, str]:
        """Level kind -> the class an object of these factors belongs to."""
        group = dict(self.shapes)[shape]
        names = {'group': group, 'shape': shape,
                 'colour group': f'{colour} {group}',
                 'colour shape': f'{colour} {shape}',
                 'size colour shape': f'{size} {colour} {shape}'}
        return {k: names[k] for k in self.levels}

    @property
    def unseen_closure(self) -> List[str]:
        """Every unseen class, in class order: the listed ones and every
        class all of whose objects belong to one of them."""
        listed = set(self.unseen)
        if set(self.levels) == set(_V1_LEVELS):
            return [c for c in self.fine_classes if c in listed]
        out = set(listed)
        kinds = [k for k in self.levels if 'colour' in k]
        for size in self.size_names:
            for colour in self.colour_names:
                for shape in self.shape_names:
                    names = self.names_of(size, colour, shape)
                    chain = [names[k] for k in kinds]  # coarse to fine
                    for i, name in enumerate(chain):
                        if name in listed:
                            out.update(chain[i:])
        # a coarser compositional class is unseen only when listed
        ordered = [c for k in self.levels for c in self.classes_of_kind(k)]
        return [c for c in ordered if c in out]

    def to_dict(self) -> dict:
        """JSON-able form (lists instead of tuples); ``levels`` only when it
        is not the first world's."""
        out = json.loads(json.dumps(dataclasses.asdict(self)))
        if tuple(self.levels) == _V1_LEVELS:
            out.pop('levels')
        return out

    def fingerprint(self) -> str:
        """Short content hash of the spec (names cached artefacts)."""
        text = json.dumps(self.to_dict(), sort_keys=True)
        return hashlib.sha1(text.encode()).hexdigest()[:12]


DEFAULT_WORLD = WorldSpec()

# The evidence world: five levels, unseen classes on the three
# compositional ones. Held out: 3 colour + group classes (with their 6
# colour + shape and 12 size + colour + shape descendants), 2 more colour +
# shape classes (4 descendants) and 3 size + colour + shape classes whose
# colour + shape is seen in the other size. 46 seen, 30 unseen classes.
WORLD_V2 = WorldSpec(
    levels=LEVEL_KINDS,
    unseen=('red round shape', 'blue angular shape', 'purple angular shape',
            'green triangle', 'yellow circle',
            'big green square', 'small purple ring', 'big yellow triangle'))

WORLDS = {'v1': DEFAULT_WORLD, 'v2': WORLD_V2}


def get_world(name: str) -> WorldSpec:
    """A named world spec (``'v1'``: the first demo world, ``'v2'``: the
    evidence world)."""
    if name not in WORLDS:
        raise KeyError(f'unknown world {name!r}; known: {sorted(WORLDS)}')
    return WORLDS[name]


def world_classes(spec: WorldSpec = DEFAULT_WORLD) -> Dict[str, object]:
    """Class lists, levels and parents of a world (seen then unseen).

    Args:
        spec (WorldSpec): The world.

    Returns:
        dict: ``classes`` (seen then unseen), ``seen_classes``,
        ``unseen_classes``, ``class_levels`` (index into ``spec.levels``:
        0 coarse ... fine), ``class_parents`` (direct parent class name or
        None; a colour + shape class's is its colour + group class when the
        world has that level).
    """
    group_of = dict(spec.shapes)
    levels, parents = {}, {}
    has = set(spec.levels)
    for lvl, kind in enumerate(spec.levels):
        for name in spec.classes_of_kind(kind):
            levels[name] = lvl
            words = name.split(' ')
            if kind == 'group':
                parents[name] = None
            elif kind == 'shape':
                parents[name] = group_of[name]
            elif kind == 'colour group':
                parents[name] = name.split(' ', 1)[1]
            elif kind == 'colour shape':
                parents[name] = (f'{words[0]} {group_of[words[1]]}'
                                 if 'colour group' in has else words[1])
            else:  # size colour shape
                parents[name] = ' '.join(words[1:])
    ordered = [c for k in spec.levels for c in spec.classes_of_kind(k)]
    closure = set(spec.unseen_closure)
    seen = [c for c in ordered if c not in closure]
    unseen = [c for c in ordered if c in closure]
    classes = seen + unseen
    return dict(classes=classes, seen_classes=seen, unseen_classes=unseen,
                class_levels=[levels[c] for c in classes],
                class_parents=[parents[c] for c in classes])


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
