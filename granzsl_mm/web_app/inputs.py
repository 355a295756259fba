"""What a web-app user hands in: vocabularies, images, model choices.

Pure Python (no gradio): every problem a user can cause is raised as a
:class:`AppInputError` whose message is shown as is in the page.
"""
import glob
import os
import os.path as osp
import tempfile
from typing import Dict, List, Optional, Sequence, Tuple

__all__ = ['AppInputError', 'MAX_LABELS', 'LABEL_BATCH_SIZE',
           'VOCABULARY_PRESETS', 'parse_vocabulary', 'preset_vocabulary',
           'label_batches', 'read_images', 'discover_models',
           'latest_checkpoint', 'parse_cfg_options']

MAX_LABELS = 20000  # a page beyond this is unreadable
LABEL_BATCH_SIZE = 512  # labels scored per pass (progress steps)

# Shown name -> name understood by ``granzsl_mm.apis.read_vocabulary``; the
# proving-ground world is read from its split file (see preset_vocabulary).
PROVING_GROUND = 'Proving-ground world (data/demo)'
VOCABULARY_PRESETS: Dict[str, str] = {
    'COCO 80': 'coco80',
    'COCO 48 seen + 17 unseen': 'coco48_17',
    'COCO 48 seen': 'coco48',
    'COCO 17 unseen': 'coco17',
    'NUS-WIDE 81': 'nuswide81',
    PROVING_GROUND: 'split.json',
}


class AppInputError(ValueError):
    """A user input the web app cannot use; the message says what to change."""


def parse_vocabulary(text: Optional[str],
                     max_labels: int = MAX_LABELS) -> List[str]:
    """Labels typed or pasted into the vocabulary box.

    Args:
        text (str, optional): Comma- and/or newline-separated labels
            (``#`` starts a comment).
        max_labels (int): Refuse longer vocabularies.

    Returns:
        list[str]: Stripped labels, in order, duplicates dropped.

    Raises:
        AppInputError: Empty or over-long vocabulary.
    """
    from granzsl_mm.apis.vocabularies import split_words
    labels = split_words(text or '')
    if not labels:
        raise AppInputError(
            'The vocabulary is empty: type the labels to score, separated by '
            "commas or new lines, or pick a dataset's classes.")
    if len(labels) > max_labels:
        raise AppInputError(
            f'The vocabulary has {len(labels)} labels; the web app scores at '
            f'most {max_labels}. Use tools/infer.py for larger ones.')
    return labels


def preset_vocabulary(preset: str, demo_root: str = 'data/demo') -> List[str]:
    """The classes of a dataset, by its shown name.

    Args:
        preset (str): A key of :data:`VOCABULARY_PRESETS`.
        demo_root (str): Folder of the proving-ground world
            (``tools/make_demo_data.py`` writes ``split.json`` there).

    Returns:
        list[str]: Class names (seen then unseen for ZSL splits).
    """
    from granzsl_mm.apis.vocabularies import read_vocabulary
    if preset not in VOCABULARY_PRESETS:
        raise AppInputError(f'Unknown class list {preset!r}; choose one of: '
                             f'{", ".join(VOCABULARY_PRESETS)}.')
    name = VOCABULARY_PRESETS[preset]
    if preset == PROVING_GROUND:
        name = osp.join(demo_root, name)
        if not osp.isfile(name):
            raise AppInputError(
                f'The proving-ground world is not built ({name} is missing): '
                'run `python tools/make_demo_data.py` first.')
    return read_vocabulary(name)


def label_batches(labels: Sequence[str],
                  batch_size: int = LABEL_BATCH_SIZE) -> List[List[str]]:
    """Split a vocabulary into consecutive batches of at most ``batch_size``."""
    if batch_size < 1:
        raise ValueError(f'batch_size must be >= 1, got {batch_size}')
    return [list(labels[i:i + batch_size])
            for i in range(0, len(labels), batch_size)]


def _readable_by_pipeline(path: str) -> bool:
    """Whether the project's reader (``LoadImageFromFile``) decodes the file
    (the pixel limit is checked first; see :func:`read_images`)."""
    from granzsl_mm.utils.image_io import ImageTooLargeError, read_image
    try:
        return read_image(path) is not None
    except ImageTooLargeError:
        raise
    except Exception:  # undecodable: maybe Pillow can convert it
        return False


def read_images(paths: Sequence[str],
                work_dir: Optional[str] = None) -> List[Tuple[str, str]]:
    """Check uploaded files and name them for display.

    Files the inference pipeline cannot decode but Pillow can (GIF, some
    TIFF/WebP variants) are converted to PNG in ``work_dir``. Only images
    pass (an upload of any other file is refused here too, whatever the
    browser sent), and images above the project's pixel limit
    (:func:`granzsl_mm.utils.image_io.max_image_pixels`) are refused before
    they are decoded.

    Args:
        paths (Sequence[str]): Uploaded file paths.
        work_dir (str, optional): Where converted copies go (a temporary
            folder by default).

    Returns:
        list[tuple[str, str]]: ``(shown name, readable path)`` per image;
        repeated file names get a `` (2)`` suffix.

    Raises:
        AppInputError: No image, or a file that is no readable image.
    """
    from PIL import Image, UnidentifiedImageError

    from granzsl_mm.utils.atomic_io import atomic_open
    from granzsl_mm.utils.image_io import ImageTooLargeError, image_size
    if not paths:
        raise AppInputError('No image: upload one or more pictures first.')
    images, seen = [], set()
    for path in paths:
        name = base = osp.basename(path)
        count = 1
        while name in seen:
            count += 1
            name = f'{base} ({count})'
        seen.add(name)
        if not osp.isfile(path):
            raise AppInputError(f'Cannot read {base!r}: the file is gone; '
                                 'upload it again.')
        try:
            if _readable_by_pipeline(path):
                images.append((name, path))
                continue
            with open(path, 'rb') as f:
                image_size(f.read(), base)
        except ImageTooLargeError as e:
            raise AppInputError(str(e).replace(path, base)) from e
        try:
            with Image.open(path) as img:
                img.load()
                rgb = img.convert('RGB')
        except (UnidentifiedImageError, OSError, ValueError) as e:
            reason = str(e).replace(path, base)  # no server paths shown
            raise AppInputError(
                f'Cannot read {base!r} as an image ({type(e).__name__}: '
                f'{reason}). Upload PNG, JPEG, BMP, WebP, TIFF or GIF '
                'pictures.') from e
        work_dir = work_dir or tempfile.mkdtemp(prefix='granzsl_web_app_')
        os.makedirs(work_dir, exist_ok=True)
        converted = osp.join(work_dir, f'{len(images)}_{base}.png')
        with atomic_open(converted, suffix='.png') as f:
            rgb.save(f, format='PNG')
        images.append((name, converted))
    return images


def latest_checkpoint(work_dir: str) -> Optional[str]:
    """The newest checkpoint of an mmengine work dir (``last_checkpoint``
    first, else the most recent ``*.pth``), or ``None``."""
    marker = osp.join(work_dir, 'last_checkpoint')
    if osp.isfile(marker):
        with open(marker, encoding='utf-8') as f:
            path = f.read().strip()
        if osp.isfile(path):
            return path
    found = glob.glob(osp.join(work_dir, '*.pth'))
    return max(found, key=os.path.getmtime) if found else None


def parse_cfg_options(text: Optional[str]) -> Dict[str, object]:
    """``key=value`` config overrides, as ``--cfg-options`` of the tools.

    Args:
        text (str, optional): Whitespace-separated ``key=value`` items, e.g.
            ``'model.backbone.pretrained=data/demo/tiny_clip.pt'``; values
            are parsed like mmengine's ``DictAction`` (numbers, booleans,
            lists, tuples, strings).

    Returns:
        dict: Dotted keys to values.
    """
    from mmengine.config import DictAction
    options = {}
    for item in (text or '').split():
        key, sep, value = item.partition('=')
        if not sep or not key:
            raise AppInputError(f'Config options must read key=value, got '
                                 f'{item!r}.')
        options[key] = DictAction._parse_iterable(value)
    return options


def discover_models(configs_dir: str = 'configs',
                    work_dirs: str = 'work_dirs',
                    demo_root: str = 'data/demo',
                    clip_weights: Optional[str] = None
                    ) -> Dict[str, Tuple[str, str, str]]:
    """Ready-to-try models: the ``*_demo.py`` configs (tiny CLIP, CPU).

    The checkpoint is the newest one of the config's work dir
    (``tools/train.py``) or of its ``tools/run_demo.py`` run
    (``work_dirs/demo/granzsl`` ...). The CLIP weights are no field of the
    page: the session applies the operator's ``--clip-weights`` file (the
    world's pre-trained tiny CLIP by default) to every model, so entries
    carry no path in their options.

    Args:
        configs_dir (str): Folder of configs.
        work_dirs (str): Folder of the training work dirs.
        demo_root (str): Folder of the proving-ground world (kept for
            callers; the tiny CLIP is now ``clip_weights``).
        clip_weights (str, optional): The CLIP weights the session applies
            (labels entries without checkpoint ``world CLIP``).

    Returns:
        dict[str, tuple[str, str, str]]: Shown name -> ``(config,
        checkpoint or '', '')``.
    """
    models = {}
    for config in sorted(glob.glob(osp.join(configs_dir, '*_demo.py'))):
        stem = osp.splitext(osp.basename(config))[0]
        if stem.startswith('pretrain'):
            continue
        run = osp.join(work_dirs, 'demo', stem.split('_')[0])
        checkpoint = (latest_checkpoint(osp.join(work_dirs, stem))
                      or latest_checkpoint(run) or '')
        if checkpoint:
            state = 'trained'
        elif clip_weights:
            state = 'world CLIP'
        else:
            state = 'random weights'
        models[f'{stem} ({state})'] = (config, checkpoint, '')
    return models
