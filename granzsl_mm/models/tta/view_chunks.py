"""How many views (images x snippets) go into one backbone call.

On a GPU all the views of a batch go in one call. On a CPU the speed of a
ViT depends on the batch of views (measured on a 2-core x86-64 machine,
ViT-B/16: about 147 GFLOP/s with 14 views per call and 107 with 28): too
many views per call spill the caches, too few leave the matrix products
small. How many is best depends on the machine, so ``'auto'`` measures it
on the work itself: the first calls split the views into chunks of each
candidate size, each size timed twice on real views (nothing computed
twice), and the fastest size per view is kept for the rest of the run.
The outputs do not depend on the chunking (each view is encoded on its
own; only floating-point rounding of batched matrix products may differ).
"""
import time
from typing import Callable, Dict, Optional, Tuple, Union

import torch

__all__ = ['ViewChunker', 'VIEW_CHUNK_CANDIDATES']

# sizes tried by 'auto' on a CPU (views per backbone call)
VIEW_CHUNK_CANDIDATES = (4, 8, 16, 32)
_TIMINGS_PER_SIZE = 2

Encode = Callable[[torch.Tensor], Tuple[Optional[torch.Tensor],
                                        torch.Tensor]]


class ViewChunker:
    """Encode a stack of views in backbone calls of a chosen size.

    Args:
        views_per_call: ``None``: all views in one call; an int: at most
            that many per call; ``'auto'``: all in one call on a GPU, on a
            CPU the candidate size with the best measured time per view
            (module docstring).
        candidates: Sizes ``'auto'`` tries on a CPU.
    """

    def __init__(self, views_per_call: Union[int, str, None] = 'auto',
                 candidates: Tuple[int, ...] = VIEW_CHUNK_CANDIDATES
                 ) -> None:
        if views_per_call not in (None, 'auto') and not (
                isinstance(views_per_call, int) and views_per_call >= 1):
            raise ValueError("views_per_call must be None, 'auto' or an "
                             f'int >= 1, got {views_per_call!r}')
        if not candidates or any(int(c) < 1 for c in candidates):
            raise ValueError(f'candidates must be sizes >= 1, got '
                             f'{candidates!r}')
        self.views_per_call = views_per_call
        self.candidates = tuple(sorted(int(c) for c in candidates))
        # per (device type, view shape): size -> best seconds per view
        self._timings: Dict[tuple, Dict[int, list]] = {}
        self.chosen: Dict[tuple, int] = {}

    def __call__(self, encode: Encode, views: torch.Tensor
                 ) -> Tuple[Optional[torch.Tensor], torch.Tensor]:
        """``encode(views)`` done in chunks, outputs concatenated.

        Args:
            encode: ``views [N, ...] -> (local [N, ...] or None,
                global [N, ...])``.
            views: ``[N, 3, H, W]`` views.

        Returns:
            tuple: ``(local or None, global)`` of all ``N`` views.
        """
        num = views.shape[0]
        if self.views_per_call is None or num == 0 or (
                self.views_per_call == 'auto' and views.device.type != 'cpu'):
            return encode(views)
        if isinstance(self.views_per_call, int):
            return self._encode_fixed(encode, views, self.views_per_call)
        key = (views.device.type, tuple(views.shape[1:]), views.dtype)
        if key in self.chosen:
            return self._encode_fixed(encode, views, self.chosen[key])
        return self._encode_measuring(encode, views, key)

    @staticmethod
    def _encode_fixed(encode: Encode, views: torch.Tensor, size: int):
        if views.shape[0] <= size:
            return encode(views)
        return _concat([encode(views[a:a + size])
                        for a in range(0, views.shape[0], size)])

    def _encode_measuring(self, encode: Encode, views: torch.Tensor,
                          key: tuple):
        """Encode in chunks of the sizes still to be timed; choose a size
        once every size that fits this call has its timings."""
        timings = self._timings.setdefault(key, {})
        fits = [c for c in self.candidates if c <= views.shape[0]] or \
            [self.candidates[0]]
        parts, start = [], 0
        while start < views.shape[0]:
            todo = [c for c in fits
                    if len(timings.get(c, [])) < _TIMINGS_PER_SIZE]
            size = todo[0] if todo else self._best(timings)
            chunk = views[start:start + size]
            t0 = time.perf_counter()
            parts.append(encode(chunk))
            if todo and chunk.shape[0] == size:
                timings.setdefault(size, []).append(
                    (time.perf_counter() - t0) / size)
            start += chunk.shape[0]
        if all(len(timings.get(c, [])) >= _TIMINGS_PER_SIZE for c in fits):
            self.chosen[key] = self._best(timings)
        return _concat(parts)

    @staticmethod
    def _best(timings: Dict[int, list]) -> int:
        """The timed size with the least seconds per view (best of its
        timings: the first call of a size pays one-time costs)."""
        timed = {c: min(t) for c, t in timings.items() if t}
        return min(timed, key=timed.get)

    def report(self) -> str:
        """One line per measured view shape: the sizes tried, their time
        per view, and the size chosen."""
        lines = []
        for key, timings in self._timings.items():
            tried = ', '.join(f'{c}: {1e3 * min(t):.1f} ms'
                              for c, t in sorted(timings.items()) if t)
            chosen = self.chosen.get(key)
            lines.append(f'views per backbone call on {key[0]} '
                         f'{list(key[1])}: {tried} per view -> '
                         f'{chosen if chosen else "still measuring"}')
        return '\n'.join(lines)


def _concat(parts: list) -> Tuple[Optional[torch.Tensor], torch.Tensor]:
    local = None if parts[0][0] is None else torch.cat([p[0] for p in parts])
    return local, torch.cat([p[1] for p in parts])
