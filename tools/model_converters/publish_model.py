"""Make a checkpoint ready to publish (MMPretrain's ``publish_model.py``).

Drops the training state (``optimizer``, ``param_schedulers``,
``message_hub``; ``--keep-ema`` keeps ``ema_state_dict``), keeps
``state_dict`` and ``meta``, and writes ``OUT_STEM[_DATE]-SHA8.pth`` where
SHA8 is the first 8 hex digits of the file's sha256 (the suffix
``mim``/``load_checkpoint`` users expect). The input is read by the safe
loader (``weights_only``; ``--trust-checkpoint`` for a file you trust), the
output written atomically in the safe form.

Usage::

    python tools/model_converters/publish_model.py W/epoch_30.pth granzsl_coco.pth
    # -> granzsl_coco_20260101-1a2b3c4d.pth
"""
import _cli

import argparse
import datetime
import hashlib
import os
import os.path as osp
import sys
from typing import Optional, Sequence

TRAINING_STATE = ('optimizer', 'param_schedulers', 'message_hub')


def sha256sum(path: str) -> str:
    """Hex sha256 of a file."""
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(1 << 20), b''):
            digest.update(block)
    return digest.hexdigest()


def publish(in_file: str, out_file: str, keep_ema: bool = False,
            add_date: bool = True) -> str:
    """Strip the training state from ``in_file`` and write the published file.

    Args:
        in_file (str): Checkpoint to publish.
        out_file (str): Output name; ``.pth`` is appended if missing, then
            ``_YYYYMMDD`` (``add_date``) and ``-SHA8`` before the suffix.
        keep_ema (bool): Keep ``ema_state_dict``.
        add_date (bool): Put today's date into the name.

    Returns:
        str: The path written.

    Raises:
        ValueError: The file holds no ``state_dict``.
        UnsafeCheckpointError: The file pickles globals (safe loader).
    """
    from granzsl_mm.utils.safe_checkpoint import atomic_torch_save, safe_torch_load
    ckpt = safe_torch_load(in_file, map_location='cpu')
    if not isinstance(ckpt, dict) or 'state_dict' not in ckpt:
        raise ValueError(f'{in_file}: not an mmengine checkpoint (no '
                         '"state_dict" key)')
    for key in TRAINING_STATE + (() if keep_ema else ('ema_state_dict', )):
        ckpt.pop(key, None)
    stem = out_file[:-4] if out_file.endswith('.pth') else out_file
    if add_date:
        stem += datetime.date.today().strftime('_%Y%m%d')
    tmp = stem + '.pth.tmp'
    atomic_torch_save(ckpt, tmp)
    final = f'{stem}-{sha256sum(tmp)[:8]}.pth'
    os.replace(tmp, final)
    return final


def main(argv: Optional[Sequence[str]] = None) -> None:
    parser = argparse.ArgumentParser(description='Publish a checkpoint')
    parser.add_argument('in_file', help='input checkpoint')
    parser.add_argument('out_file', help='output name (date and sha256 '
                        'prefix are appended)')
    parser.add_argument('--keep-ema', action='store_true',
                        help='keep ema_state_dict')
    parser.add_argument('--no-date', action='store_true',
                        help='leave the date out of the name')
    parser.add_argument('--trust-checkpoint', action='store_true',
                        help='allow a checkpoint that needs full unpickling '
                        '(only for files you trust)')
    args = parser.parse_args(argv)
    if args.trust_checkpoint:
        from granzsl_mm.utils import set_checkpoint_trust
        set_checkpoint_trust(True)
    try:
        final = publish(args.in_file, args.out_file, keep_ema=args.keep_ema,
                        add_date=not args.no_date)
    except (OSError, ValueError, RuntimeError) as err:  # RuntimeError: unsafe
        parser.exit(2, f'{parser.prog}: error: {err}\n')
    print(f'wrote {final} ({osp.getsize(final)} bytes)')


if __name__ == '__main__':
    sys.exit(_cli.run(main))
