"""Reading our converted annotation files (``{'metainfo', 'data_list'}``)."""
import json
import os.path as osp

__all__ = ['read_annotation_file']


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
    if not osp.isfile(path):
        raise FileNotFoundError(f'annotation file not found: {path}')
    try:
        with open(path, encoding='utf-8') as f:
            ann = json.load(f)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ValueError(f'annotation file is not valid JSON: {path} '
                         f'({e})') from e
    meta = ann.get('metainfo', {}) if isinstance(ann, dict) else {}
    if meta.get('format') != file_format or 'data_list' not in ann:
        raise ValueError(f'{path}: not a {file_format} file (write it with '
                         f'{converter})')
    return ann
