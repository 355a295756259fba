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
  with values that are numbers, booleans, ``None`` or short plain words
  (no path: no ``/``, ``\\``, ``.``, ``~``, ``:``). Overrides given on the
  command line are the operator's and are not limited.
"""
import os
import os.path as osp
import re
from typing import Dict, Iterable, List, Optional, Sequence

from .inputs import AppInputError, parse_cfg_options

__all__ = ['AppAccess', 'APP_OPTION_KEYS', 'CONFIG_SUFFIXES',
           'CHECKPOINT_SUFFIXES']

# config keys a page user may override (scoring behaviour only)
APP_OPTION_KEYS = (
    'model.score_mode',       # 'both' / 'global' / 'local' (GranZSL)
    'model.logit_scale',      # a number
    'model.select_on_test',   # bool
    'model.label_set',        # 'gzsl' / 'zsl' / 'seen'
    'model.backbone.dense_mode',
)
CONFIG_SUFFIXES = ('.py', '.yml', '.yaml', '.json')
CHECKPOINT_SUFFIXES = ('.pth', '.pt', '.ckpt')
_WORD = re.compile(r'^[A-Za-z0-9_+-]{1,64}$')


def _is_plain(value) -> bool:
    if value is None or isinstance(value, (bool, int, float)):
        return True
    if isinstance(value, str):
        return bool(_WORD.match(value))
    if isinstance(value, (list, tuple)):
        return len(value) <= 64 and all(
            not isinstance(v, (list, tuple)) and _is_plain(v) for v in value)
    return False


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

    def allow(self, folder: str) -> None:
        """Add a folder (resolved now) to the allowed set."""
        root = osp.realpath(osp.expanduser(folder))
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
            if not _is_plain(value):
                raise AppInputError(
                    f'The value of {key} must be a number, true/false or a '
                    'plain word (no paths).')
        return options

    def __repr__(self) -> str:
        return f'AppAccess(allowed_dirs={self.roots!r})'


def default_allowed_dirs(repo: Optional[str] = None) -> List[str]:
    """``configs/`` and ``work_dirs/`` of ``repo`` (default: the cwd)."""
    repo = repo or os.getcwd()
    return [osp.join(repo, 'configs'), osp.join(repo, 'work_dirs')]
