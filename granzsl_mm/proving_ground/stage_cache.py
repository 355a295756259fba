"""The stage cache of a world run: each stage's result kept under a key.

A world run (:func:`granzsl_mm.proving_ground.pipeline.run_world`) keeps the
result of every stage in ``<work_dir>/stages.json`` under a key of the
world, the tiny CLIP and the stage's settings, so that an interrupted run
resumes where it stopped and a finished one is only re-reported.
"""
import hashlib
import json
import os.path as osp
import time
from typing import Callable, Dict, Optional

from granzsl_mm.datasets.descriptions.io import atomic_write_json

__all__ = ['StageCache', 'stage_key']


def stage_key(obj: object) -> str:
    """Short content hash of a JSON-able key (non-JSON values by ``str``).

    Args:
        obj (object): What the stage's result depends on.

    Returns:
        str: 16 hex digits.
    """
    return hashlib.sha1(json.dumps(obj, sort_keys=True,
                                   default=str).encode()).hexdigest()[:16]


class StageCache:
    """Stage results of one world run, kept in a JSON file.

    Args:
        path (str): The JSON file (created on the first :meth:`put`).
        fresh (bool): Ignore what the file holds (every stage runs again;
            the file is overwritten stage by stage).
    """

    def __init__(self, path: str, fresh: bool = False) -> None:
        self.path = path
        self.data: Dict[str, dict] = {}
        if not fresh and osp.isfile(path):
            with open(path, encoding='utf-8') as f:
                self.data = json.load(f)

    def get(self, name: str, key: str) -> Optional[dict]:
        """The cached result of stage ``name`` when its key matches, else
        None."""
        entry = self.data.get(name)
        if entry and entry.get('key') == key:
            return entry['result']
        return None

    def put(self, name: str, key: str, result: dict, seconds: float) -> None:
        """Store a stage's result (written at once)."""
        self.data[name] = dict(key=key, result=result,
                               seconds=round(float(seconds), 2))
        atomic_write_json(self.data, self.path)

    def run(self, name: str, key: str, fn: Callable[[], dict]) -> dict:
        """The cached result of stage ``name``, or ``fn()`` run, timed and
        stored.

        Args:
            name (str): Stage name.
            key (str): Its key (:func:`stage_key` of what it depends on).
            fn (Callable[[], dict]): Runs the stage; returns a JSON-able
                result.

        Returns:
            dict: The result.
        """
        hit = self.get(name, key)
        if hit is not None:
            return hit
        start = time.time()
        result = fn()
        self.put(name, key, result, time.time() - start)
        return result

    def seconds(self) -> Dict[str, float]:
        """Stage name -> wall seconds it took when it ran."""
        return {k: v.get('seconds', 0.0) for k, v in self.data.items()}
