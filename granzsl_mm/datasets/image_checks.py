"""Find listed images that are missing or unreadable, before a run starts."""
import os
import os.path as osp
from collections import defaultdict
from typing import Dict, List, Sequence, Set, Tuple

__all__ = ['IMAGE_CHECKS', 'find_bad_images', 'BadImageError',
           'describe_bad_images']

IMAGE_CHECKS = ('exists', 'verify', 'none')


class BadImageError(RuntimeError):
    """A listed image is missing or cannot be decoded."""


def _listing(directory: str, cache: Dict[str, Set[str]]) -> Set[str]:
    if directory not in cache:
        try:
            cache[directory] = set(os.listdir(directory or '.'))
        except OSError:
            cache[directory] = set()
    return cache[directory]


def find_bad_images(paths: Sequence[str],
                    check: str = 'exists') -> List[Tuple[int, str]]:
    """Indices of images that are missing (or, with ``'verify'``, corrupt).

    Existence is checked with one directory listing per folder (fast for
    100k-image sets on network file systems); ``'verify'`` also decodes
    every image in full with the project's reader
    (:func:`granzsl_mm.utils.image_io.verify_image`: truncated files, files
    above the pixel limit and empty files are bad; Pillow's ``verify`` alone
    does not decode and passes truncated JPEGs).

    Args:
        paths (Sequence[str]): Image paths.
        check (str): ``'exists'``, ``'verify'`` or ``'none'``.

    Returns:
        list[tuple[int, str]]: ``(index, reason)`` of each bad image, reason
        ``'missing'`` or ``'unreadable: <error>'``.
    """
    if check not in IMAGE_CHECKS:
        raise ValueError(f'check must be one of {IMAGE_CHECKS}, got {check!r}')
    if check == 'none':
        return []
    cache: Dict[str, Set[str]] = {}
    bad = []
    for i, path in enumerate(paths):
        directory, name = osp.split(path)
        if name not in _listing(directory, cache) and not osp.isfile(path):
            bad.append((i, 'missing'))
    if check == 'verify':
        from granzsl_mm.utils.image_io import verify_image
        missing = {i for i, _ in bad}
        for i, path in enumerate(paths):
            if i in missing:
                continue
            try:
                verify_image(path)
            except Exception as e:  # decoders raise many types for bad files
                bad.append((i, f'unreadable: {type(e).__name__}: {e}'))
        bad.sort()
    return bad


def describe_bad_images(paths: Sequence[str], bad: List[Tuple[int, str]],
                        max_examples: int = 5) -> str:
    """A one-paragraph summary: counts per reason and a few examples.

    Args:
        paths (Sequence[str]): All image paths.
        bad (list): Output of :func:`find_bad_images`.
        max_examples (int): Examples listed.

    Returns:
        str: The summary.
    """
    counts: Dict[str, int] = defaultdict(int)
    for _, reason in bad:
        counts[reason.split(':')[0]] += 1
    parts = ', '.join(f'{n} {reason}' for reason, n in sorted(counts.items()))
    examples = '; '.join(f'{paths[i]} ({reason})'
                         for i, reason in bad[:max_examples])
    return (f'{len(bad)} of {len(paths)} listed images are bad ({parts}), '
            f'e.g. {examples}')
