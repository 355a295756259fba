"""What a web-app request may reach: the operator's allow-list.

The page's Config / Checkpoint / Config-options boxes are filled by remote
users. mmengine *executes* ``.py`` configs (and ``.yml`` tags), so a config
path from a request must never reach ``Config.fromfile`` unless the operator
allowed it. :class:`AppAccess` holds what the operator allowed at start:

* folders (``--allow-dir`` of ``tools/web_app.py``; by default the
  repository's ``configs/`` and ``work_dirs/``, plus the folder of the
  ``--clip-weights`` file); a config or checkpoint is resolved (symbolic
  links and ``..`` followed) and must stay inside one of them, with a
  config or checkpoint suffix. A refused path gets the same message whether
  it exists or not (no probing of the server's files);
* config overrides from the page: only the keys of :data:`APP_OPTION_KEYS`,
  with values that are finite numbers, booleans, ``None`` or short plain
  words (no path: no ``/``, ``\\``, ``.``, ``~``, ``:``), numbers inside
  the key's range (:data:`OPTION_RANGES`), all checked before any config is
  read or model built. Overrides given on the command line are the
  operator's and are not limited;
* never a folder that holds the system temporary folder or gradio's upload
  folder, nor one inside the upload folder: uploaded files land there, so
  allowing it would let a request name a file it uploaded itself.
  :meth:`AppAccess.allow` refuses such a folder with the reason (a start-up
  file directly in ``/tmp`` included: its folder is the temporary root).
"""
import math
import os
import os.path as osp
import re
import tempfile
from typing import Dict, Iterable, List, Optional, Sequence

from .inputs import AppInputError, parse_cfg_options

__all__ = ['AppAccess', 'APP_OPTION_KEYS', 'OPTION_RANGES', 'CONFIG_SUFFIXES',
           'CHECKPOINT_SUFFIXES', 'AllowListError', 'upload_folders',
           'default_allowed_dirs']

# config keys a page user may override (scoring behaviour only)
APP_OPTION_KEYS = (
    'model.score_mode',       # 'both' / 'global' / 'local' (GranZSL)
    'model.logit_scale',      # a number
    'model.select_on_test',   # bool
    'model.label_set',        # 'gzsl' / 'zsl' / 'seen'
    'model.backbone.dense_mode',
)
# numbers a page option may take, [low, high]; CLIP's own logit scale is
# 100, GranZSL's configs use 20
OPTION_RANGES = {'model.logit_scale': (1e-3, 1e3)}
_OPTION_WORDS = {'model.logit_scale': ('clip', )}  # ZeroShot: CLIP's own
CONFIG_SUFFIXES = ('.py', '.yml', '.yaml', '.json')
CHECKPOINT_SUFFIXES = ('.pth', '.pt', '.ckpt')
_WORD = re.compile(r'^[A-Za-z0-9_+-]{1,64}$')


class AllowListError(ValueError):
    """A folder the web app must not open to requests (the message says
    why and what to do)."""


def upload_folders() -> List[str]:
    """The system temporary folder and gradio's upload folder, resolved.

    gradio stores uploads in ``$GRADIO_TEMP_DIR`` or ``<tmp>/gradio``
    (``gradio.utils.get_upload_folder``; the web-app tests check the two
    agree), without importing gradio here.
    """
    tmp = osp.realpath(tempfile.gettempdir())
    gradio_dir = os.environ.get('GRADIO_TEMP_DIR') or osp.join(tmp, 'gradio')
    return [tmp, osp.realpath(osp.expanduser(gradio_dir))]


def _is_plain(value) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    if value is None or isinstance(value, (bool, int)):
        return True
    if isinstance(value, str):
        return bool(_WORD.match(value))
    if isinstance(value, (list, tuple)):
        return len(value) <= 64 and all(
            not isinstance(v, (list, tuple)) and _is_plain(v) for v in value)
    return False


def _check_value(key: str, value) -> None:
    """Refuse a page option value outside its kind and range."""
    if not _is_plain(value):
        raise AppInputError(
            f'The value of {key} must be a finite number, true/false or a '
            f'plain word (no paths, no nan / inf); got {value!r}.')
    if key not in OPTION_RANGES:
        return
    low, high = OPTION_RANGES[key]
    words = _OPTION_WORDS.get(key, ())
    if isinstance(value, str) and value in words:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)) or \
            not low <= value <= high:
        also = f" or {' / '.join(words)}" if words else ''
        raise AppInputError(
            f'The value of {key} must be a number from {low:g} to {high:g}'
            f'{also}; got {value!r}.')


class AppAccess:
    """The folders and overrides a page request may use.

    Args:
        allowed_dirs (Sequence[str], optional): Folders whose configs and
            checkpoints (at any depth) may be named on the page. Default:
            ``configs/`` and ``work_dirs/`` of the current directory.
        option_keys (Sequence[str]): Config keys the page may override.
    """

    def __init__(self, allowed_dirs: Optional[Sequence[str]] = None,
                 option_keys: Sequence[str] = APP_OPTION_KEYS) -> None:
        if allowed_dirs is None:
            allowed_dirs = ('configs', 'work_dirs')
        self.roots: List[str] = []
        for folder in allowed_dirs:
            self.allow(folder)
        self.option_keys = tuple(option_keys)

    def allow(self, folder: str, reason: str = '--allow-dir') -> None:
        """Add a folder (resolved now) to the allowed set.

        Args:
            folder (str): The folder.
            reason (str): What named it (a flag, or a flag and its file),
                for the message.

        Raises:
            AllowListError: The folder holds the system temporary folder or
                gradio's upload folder, or lies inside the upload folder.
        """
        root = osp.realpath(osp.expanduser(folder))
        tmp, uploads = upload_folders()
        for held, what in ((tmp, 'the system temporary folder'),
                           (uploads, "gradio's upload folder")):
            if osp.commonpath([root, held]) == root:
                raise AllowListError(
                    f'{reason}: the web app cannot open {root} to the page: '
                    f'it holds {what} ({held}), where uploaded files are '
                    'stored, so a request could name a file it uploaded. '
                    'Keep the files the page may open in a folder of their '
                    f'own (e.g. {osp.join(tmp, "granzsl_weights")}) or '
                    'under configs/ or work_dirs/.')
        if osp.commonpath([root, uploads]) == uploads:
            raise AllowListError(
                f"{reason}: {root} is inside gradio's upload folder "
                f'({uploads}); the web app never opens uploaded files as '
                'configs or checkpoints.')
        if root not in self.roots:
            self.roots.append(root)

    def _inside(self, resolved: str) -> bool:
        for root in self.roots:
            try:
                if osp.commonpath([root, resolved]) == root:
                    return True
            except ValueError:  # different drives
                continue
        return False

    def _refusal(self, what: str, path: str) -> AppInputError:
        shown = [osp.basename(r) or r for r in self.roots]
        return AppInputError(
            f'{what} {path!r} is not allowed: this web app only opens {what.lower()}'
            f's under the folders its operator allowed ({", ".join(shown)}), '
            'e.g. one of the ready-made models. The operator can allow more '
            'with `tools/web_app.py --allow-dir FOLDER`.')

    def _resolve(self, what: str, path: str, suffixes: Iterable[str]) -> str:
        path = (path or '').strip()
        if '\x00' in path:
            raise self._refusal(what, path.replace('\x00', ''))
        resolved = osp.realpath(osp.expanduser(path))
        if not resolved.lower().endswith(tuple(suffixes)) or \
                not self._inside(resolved):
            raise self._refusal(what, path)
        if not osp.isfile(resolved):
            raise AppInputError(f'{what} not found: {path}')
        return resolved

    def config(self, path: str) -> str:
        """The resolved path of an allowed config file.

        Raises:
            AppInputError: Outside the allowed folders, not a config
                suffix, or missing (only said for allowed paths).
        """
        return self._resolve('Config', path, CONFIG_SUFFIXES)

    def checkpoint(self, path: str) -> str:
        """The resolved path of an allowed checkpoint file."""
        return self._resolve('Checkpoint', path, CHECKPOINT_SUFFIXES)

    def options(self, text: Optional[str]) -> Dict[str, object]:
        """Config overrides from the page, checked against the allow-list.

        Args:
            text (str, optional): ``key=value ...`` (see
                :func:`granzsl_mm.web_app.parse_cfg_options`).

        Returns:
            dict: Dotted keys to values.

        Raises:
            AppInputError: A key outside :attr:`option_keys` or a value that
                is not a number, boolean, ``None`` or a plain word.
        """
        options = parse_cfg_options(text)
        for key, value in options.items():
            if key not in self.option_keys:
                raise AppInputError(
                    f'The config option {key!r} cannot be set from the page; '
                    f'allowed: {", ".join(self.option_keys)} (the operator '
                    'sets others with --cfg-options at start).')
            _check_value(key, value)
        return options

    def __repr__(self) -> str:
        return f'AppAccess(allowed_dirs={self.roots!r})'


def default_allowed_dirs(repo: Optional[str] = None) -> List[str]:
    """``configs/`` and ``work_dirs/`` of ``repo`` (default: the cwd)."""
    repo = repo or os.getcwd()
    return [osp.join(repo, 'configs'), osp.join(repo, 'work_dirs')]
