"""The converters' output files: an existing one is replaced only on request,
and each is written as json, atomically (a killed run leaves no half file)."""
import json
import os
import os.path as osp
from typing import Iterable, Optional

from granzsl_mm.utils.atomic_io import atomic_write_text

__all__ = ['claim_outputs', 'write_json']


def claim_outputs(paths: Iterable[str], out_dir: str,
                  overwrite: bool = False) -> None:
    """Refuse to replace existing outputs (unless ``overwrite``); create the
    output folder.

    Args:
        paths (Iterable[str]): Every file the conversion will write.
        out_dir (str): The output folder.
        overwrite (bool): Replace existing files.

    Raises:
        FileExistsError: Some outputs exist and ``overwrite`` is False (all
            of them are named).
    """
    existing = [p for p in paths if osp.exists(p)]
    if existing and not overwrite:
        raise FileExistsError(f'output files exist: {existing} (pass '
                              'overwrite=True / --overwrite, or another '
                              'output folder)')
    os.makedirs(out_dir, exist_ok=True)


def write_json(data: object, path: str, indent: Optional[int] = None) -> None:
    """Write one output file.

    Args:
        data (object): JSON-serialisable content.
        path (str): The file.
        indent (int, optional): None: compact (no spaces; the annotation
            files, which can be large); else indented by this many spaces.
    """
    text = (json.dumps(data, separators=(',', ':')) if indent is None else
            json.dumps(data, indent=indent))
    atomic_write_text(text, path)
