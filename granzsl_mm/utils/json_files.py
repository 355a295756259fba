"""The one reader of JSON files made by others: bounded, strict, named.

Description files, annotation files, split files and class lists come from
other people. ``json.load`` on them keeps the last of two equal keys
silently, raises a bare ``RecursionError`` on a file nested 200k levels
deep and reads a file of any size into memory. :func:`read_json` refuses
each of these with a one-line error naming the file:

* a file larger than ``max_bytes`` (default :data:`MAX_JSON_BYTES`, 4 GiB,
  above the largest released annotation file of the supported datasets);
* nesting deeper than Python's recursion limit allows the parser (the C
  parser's ``RecursionError``, named);
* the same key twice in one object;
* text that is not UTF-8 or not JSON (with the line and column).

The same holds per line for JSON Lines files (:func:`read_json_lines`:
one JSON value per non-empty line, e.g. Open Images' localized narratives).

Standard library only.
"""
import json
import os
import os.path as osp
from typing import Any, List, Tuple

__all__ = ['JSONFileError', 'read_json', 'read_json_lines', 'MAX_JSON_BYTES']

MAX_JSON_BYTES = 4 << 30


class JSONFileError(ValueError):
    """A JSON file that cannot be read as data; the message names it."""


def _unique_keys(path: str, what: str):
    def hook(pairs: List[Tuple[str, Any]]) -> dict:
        out = {}
        for key, value in pairs:
            if key in out:
                raise JSONFileError(
                    f'{what} {path} has the key {key!r} twice in one object; '
                    'keep one (JSON readers disagree on which wins).')
            out[key] = value
        return out
    return hook


def read_json(path: str, what: str = 'JSON file',
              max_bytes: int = MAX_JSON_BYTES) -> Any:
    """Parse a JSON file made by others (see the module docstring).

    Args:
        path (str): The file.
        what (str): What it is, for the messages (``'description file'``).
        max_bytes (int): Largest file accepted.

    Returns:
        Any: The parsed data.

    Raises:
        FileNotFoundError: No such file.
        JSONFileError: Too large, too deep, a repeated key, not UTF-8 or not
            JSON.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'{what} not found: {path}')
    size = os.path.getsize(path)
    if size > max_bytes:
        raise JSONFileError(f'{what} {path} is {size} bytes, above the '
                            f'{max_bytes}-byte limit of this reader.')
    with open(path, 'rb') as f:
        raw = f.read()
    try:
        text = raw.decode('utf-8')
    except UnicodeDecodeError as e:
        raise JSONFileError(
            f'{what} {path} is not UTF-8 text (byte {raw[e.start]:#04x} at '
            f'offset {e.start}); re-save it as UTF-8 (e.g. `iconv -f latin1 '
            '-t utf-8`).') from None
    if text.startswith('\ufeff'):
        text = text[1:]
    try:
        return json.loads(text, object_pairs_hook=_unique_keys(path, what))
    except json.JSONDecodeError as e:
        raise JSONFileError(f'{what} {path} is not valid JSON: {e.msg} at '
                            f'line {e.lineno} column {e.colno}.') from None
    except RecursionError:
        raise JSONFileError(f'{what} {path} nests deeper than the JSON parser '
                            'can follow; no data file needs that.') from None


def read_json_lines(path: str, what: str = 'JSON Lines file',
                    max_bytes: int = MAX_JSON_BYTES) -> List[Any]:
    """Parse a JSON Lines file made by others: one value per non-empty line,
    each under :func:`read_json`'s rules.

    Args:
        path (str): The file.
        what (str): What it is, for the messages.
        max_bytes (int): Largest file accepted.

    Returns:
        list: The values, in file order.

    Raises:
        FileNotFoundError: No such file.
        JSONFileError: Too large, or a line too deep, with a repeated key,
            not UTF-8 or not JSON (the message names the line).
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'{what} not found: {path}')
    size = os.path.getsize(path)
    if size > max_bytes:
        raise JSONFileError(f'{what} {path} is {size} bytes, above the '
                            f'{max_bytes}-byte limit of this reader.')
    hook = _unique_keys(path, what)
    out = []
    with open(path, 'rb') as f:
        for lineno, raw in enumerate(f, 1):
            try:
                text = raw.decode('utf-8')
            except UnicodeDecodeError:
                raise JSONFileError(f'{what} {path} line {lineno} is not '
                                    'UTF-8 text.') from None
            if lineno == 1 and text.startswith('\ufeff'):
                text = text[1:]
            if not text.strip():
                continue
            try:
                out.append(json.loads(text, object_pairs_hook=hook))
            except json.JSONDecodeError as e:
                raise JSONFileError(f'{what} {path} line {lineno} is not '
                                    f'valid JSON: {e.msg} at column '
                                    f'{e.colno}.') from None
            except RecursionError:
                raise JSONFileError(f'{what} {path} line {lineno} nests '
                                    'deeper than the JSON parser can '
                                    'follow.') from None
    return out
