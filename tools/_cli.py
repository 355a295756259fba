"""What every tool does first and last: the environment check and the
one-line user errors.

Every script under ``tools/`` imports this module before anything else
(``import _cli``; the sub-folders hold a link to this file, since Python
puts the script's own folder on ``sys.path``) and ends with
``sys.exit(_cli.run(main))``:

* **first** — run by a Python that cannot import granzsl_mm and its
  frameworks (``python3 tools/test.py ...`` outside ``.venv``), the tool
  prints the README's one line — activate the environment or call
  ``.venv/bin/python`` — and exits with status 2, instead of a
  ``ModuleNotFoundError`` traceback. Only the standard library is used
  here, and the modules are found, not loaded.
* **last** — :func:`run` turns the library's user errors (a missing file,
  a checkpoint that does not fit, CLIP weights not cached offline, a bad
  option value, ...) into one line ``<tool>: error: <message>`` and exit
  status 2. ``--debug`` anywhere on the command line shows the traceback
  instead. Anything else is a bug and keeps its traceback.
"""
import importlib.util
import os.path as osp
import re
import sys
from typing import Callable, Iterator, Optional, Tuple

__all__ = ['check_environment', 'user_error_types', 'one_line', 'run',
           'DEBUG_FLAG']

#: What a tool needs importable (found, not loaded: fast).
NEEDED = ('granzsl_mm', 'torch', 'mmengine', 'mmpretrain')
#: Shows the traceback of a user error (taken off ``sys.argv`` by run()).
DEBUG_FLAG = '--debug'

# The library's exceptions that mean "the user asked for something that
# cannot be done as asked" (module, class); a class its module no longer
# has is skipped, so this list never breaks a tool.
_USER_ERRORS = (
    ('granzsl_mm.engine.runner_setup', 'RunnerSetupError'),
    ('granzsl_mm.engine.hooks.class_order_hook', 'ClassOrderError'),
    ('granzsl_mm.apis.clip_files', 'CheckpointMismatchError'),
    ('granzsl_mm.apis.weights', 'ClipWeightsError'),
    ('granzsl_mm.apis.weights', 'OfflineWeightsError'),
    ('granzsl_mm.models.backbones.open_clip_builder',
     'ActivationMismatchError'),
    ('granzsl_mm.models.backbones.tower_weights', 'MissingClipWeightsError'),
    ('granzsl_mm.datasets.image_checks', 'BadImageError'),
    ('granzsl_mm.datasets.descriptions.format', 'DescriptionError'),
    ('granzsl_mm.utils.image_io', 'ImageReadError'),
    ('granzsl_mm.utils.json_files', 'JSONFileError'),
    ('granzsl_mm.utils.safe_pickle', 'UnsafePickleError'),
    ('granzsl_mm.utils.safe_checkpoint', 'UnsafeCheckpointError'),
    ('granzsl_mm.utils.safe_checkpoint', 'NotACheckpointError'),
    ('granzsl_mm.utils.torchscript_archive', 'TorchScriptArchiveError'),
    ('granzsl_mm.utils.work_dir_lock', 'WorkDirInUseError'),
    ('granzsl_mm.apis.feature_cache', 'FeatureCacheError'),
)
# Where the files of a missing dataset come from (a FileNotFoundError under
# a folder named data/, the configs' data roots, gets this hint).
_DATA_HINT = ('docs/datasets.md says where the dataset files come from '
              '(tools/dataset_converters/ write the annotation files); a '
              'dataset elsewhere: --cfg-options '
              '<split>_dataloader.dataset.data_root=DIR')


# The demo configs' data root: `make demo` builds it (the proving ground).
_DEMO_ROOT = 'data/demo/'
_DEMO_HINT = 'the demo world is built by `make demo`: run `make demo` first'


def _program() -> str:
    return sys.argv[0] if sys.argv and sys.argv[0] else 'tool'


def check_environment(needed: Tuple[str, ...] = NEEDED) -> None:
    """Exit with the README's one line when ``needed`` is not importable.

    Args:
        needed: Top-level modules the tools import.
    """
    missing = [name for name in needed
               if importlib.util.find_spec(name) is None]
    if not missing and importlib.util.find_spec('mmcv') is None:
        # the environment, without mmcv (granzsl_mm.registry says the same
        # to a Python API user)
        print(f'{_program()}: error: granzsl_mm needs the `mmcv` module '
              f'(missing in {sys.executable}): pip install "mmcv-lite>=2.0" '
              '(the `lite` extra), or a full mmcv>=2.0 build', file=sys.stderr)
        sys.exit(2)
    if not missing:
        return
    repo = osp.dirname(osp.dirname(osp.realpath(__file__)))  # links too
    venv_python = osp.join(repo, '.venv', 'bin', 'python')
    if not osp.relpath(venv_python).startswith('..'):  # inside the checkout
        venv_python = osp.relpath(venv_python)
    print(f'{_program()}: error: {sys.executable} cannot import '
          f'{", ".join(missing)}: the project is installed in .venv/ '
          '(make install); activate it (. .venv/bin/activate) or run '
          f'{venv_python} {_program()} ...', file=sys.stderr)
    sys.exit(2)


def user_error_types() -> Tuple[type, ...]:
    """The exception classes a tool reports as one line (exit status 2).

    Returns:
        tuple: ``FileNotFoundError`` and the library's user errors whose
        modules are loaded (an error can only come from a loaded module;
        nothing is imported here, so a light tool stays light).
    """
    found = [FileNotFoundError, NotADirectoryError, IsADirectoryError]
    for module, name in _USER_ERRORS:
        error = getattr(sys.modules.get(module), name, None)
        if isinstance(error, type):
            found.append(error)
    return tuple(found)


def one_line(error: BaseException) -> str:
    """The message of ``error`` on one line, with a hint where one helps.

    Args:
        error: A user error.

    Returns:
        str: Its message (a ``FileNotFoundError`` names the file, and a
        dataset file how to make it).
    """
    if isinstance(error, OSError) and error.filename is not None:
        text = f'{error.strerror or "not found"}: {error.filename}'
        path = str(error.filename)
    else:
        text = str(error.args[0]) if (isinstance(error, KeyError)
                                      and error.args) else str(error)
        path = text
    text = ' '.join(text.split()) or type(error).__name__
    if isinstance(error, FileNotFoundError) and _under_data_root(path):
        text = f'{text}: {_DEMO_HINT if _DEMO_ROOT in path else _DATA_HINT}'
    return text


def _under_data_root(text: str) -> bool:
    return re.search(r'''(^|[\s/'"(])data/''', text.replace(osp.sep, '/')
                     ) is not None


def _chain(error: BaseException) -> Iterator[BaseException]:
    seen = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        yield error
        error = error.__cause__  # raise ... from: the user error behind it


def run(main: Callable[[], Optional[int]],
        clip_option: Optional[str] = None,
        also: Tuple[type, ...] = ()) -> int:
    """Run a tool's ``main`` and turn its user errors into one line.

    Args:
        main: The tool's entry point (parses ``sys.argv``); its return
            value (None: 0) is the exit status.
        clip_option: The tool's option for a local CLIP weights file
            (e.g. ``'--clip-checkpoint FILE'``): CLIP weights that are not
            cached on an offline machine are reported naming it.
        also: More exception types that are user errors in this tool
            (e.g. ``ValueError`` where every check is of the user's file).

    Returns:
        int: The exit status (2 for a user error).
    """
    debug = DEBUG_FLAG in sys.argv[1:]
    if debug:
        sys.argv = [arg for arg in sys.argv if arg != DEBUG_FLAG]
    try:
        if clip_option is None:
            status = main()
        else:
            from granzsl_mm.apis.weights import weights_option
            with weights_option(clip_option):
                status = main()
    except Exception as error:  # noqa: BLE001 - sorted just below
        if debug:
            raise
        user = next((e for e in _chain(error)
                     if isinstance(e, user_error_types() + tuple(also))),
                    None)
        if user is None:
            raise
        print(f'{_program()}: error: {one_line(user)} ({DEBUG_FLAG}: the '
              'traceback)', file=sys.stderr)
        return 2
    return status if isinstance(status, int) else 0  # a dict: 0


check_environment()
