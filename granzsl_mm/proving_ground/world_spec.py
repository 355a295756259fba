"""The synthetic world's specification: factors, granularity levels, the
class split, and the named worlds (``'v1'``, ``'v2'``).

:mod:`.world` samples scenes, labels and captions from a spec; see its
docstring for the world's design.
"""
import dataclasses
import hashlib
import json
from typing import Dict, List, Tuple

__all__ = ['WorldSpec', 'DEFAULT_WORLD', 'WORLD_V2', 'WORLDS', 'LEVEL_KINDS',
           'get_world', 'world_classes']

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
