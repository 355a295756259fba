"""Annotation json files: the one reader with clear errors, and our converted
files (``{'metainfo', 'data_list'}``) read with their format checked."""
from typing import List

from granzsl_mm.utils.json_files import read_json

__all__ = ['load_json_file', 'read_annotation_file', 'converted_data_list']


def load_json_file(path: str, what: str = 'annotation file') -> object:
    """Parse a json file through :func:`granzsl_mm.utils.json_files.read_json`
    (size cap, repeated keys and bad nesting refused, the file named).

    Args:
        path (str): The file.
        what (str): What it is, for the messages.

    Returns:
        object: The parsed JSON.

    Raises:
        FileNotFoundError: The file does not exist.
        ValueError: It is not valid JSON, not UTF-8, too large, too deep or
            has a repeated key.
    """
    return read_json(path, what)


def read_annotation_file(path: str, file_format: str, converter: str) -> dict:
    """Read one of our annotation jsons and check its format id.

    Args:
        path (str): The file.
        file_format (str): The format id its ``metainfo.format`` must carry.
        converter (str): The converter that writes it (named in the error),
            e.g. ``'tools/dataset_converters/nuswide_zsl.py'``.

    Returns:
        dict: The parsed file, with ``metainfo`` and ``data_list``.

    Raises:
        FileNotFoundError: The file does not exist.
        ValueError: It is not valid JSON or not a ``file_format`` file.
    """
    ann = load_json_file(path)
    meta = ann.get('metainfo', {}) if isinstance(ann, dict) else {}
    if meta.get('format') != file_format or 'data_list' not in ann:
        raise ValueError(f'{path}: not a {file_format} file (write it with '
                         f'{converter})')
    return ann


def converted_data_list(ann: dict, path: str, label_set: str) -> List[dict]:
    """The ``data_list`` of one of our converted files, for a label set.

    Args:
        ann (dict): The file, as :func:`read_annotation_file` returns it.
        path (str): Its path (for the message).
        label_set (str): The dataset's ``'seen'``, ``'unseen'`` or ``'all'``.

    Returns:
        list[dict]: The file's items.

    Raises:
        ValueError: The file holds seen labels only (a training file) and the
            label set asks for unseen ones.
    """
    if ann['metainfo'].get('label_set', 'all') == 'seen' and \
            label_set != 'seen':
        raise ValueError(f'{path} holds seen labels only (a training file); '
                         f'label_set={label_set!r} needs a test file')
    return ann['data_list']
