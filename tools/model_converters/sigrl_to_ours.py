"""Convert a released SigRL (open-vocabulary branch) checkpoint into ours.

The key map lives in :mod:`granzsl_mm.models.converters.mkt` (SigRL's
``CLIPVIT`` is MKT's plus ``GATv2_1``, ``SemanticDecoupling`` and
``DecouplingSemantic``); this runs ``mkt_to_ours.py``'s command line with the
SigRL modules enabled. An MKT-style stage-2 prompt checkpoint can be merged
in with ``--stage2``.

Usage::

    python tools/model_converters/sigrl_to_ours.py SIGRL.pth OUT.pth
    python tools/test.py configs/sigrl_nuswide.py OUT.pth
"""
import _cli

import importlib.util
import os.path as osp
import sys
from typing import Optional, Sequence

_SPEC = importlib.util.spec_from_file_location(
    'mkt_to_ours', osp.join(osp.dirname(osp.abspath(__file__)),
                            'mkt_to_ours.py'))
mkt_to_ours = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(mkt_to_ours)


def main(argv: Optional[Sequence[str]] = None) -> None:
    """Same command line as ``mkt_to_ours.py``, SigRL modules mapped."""
    mkt_to_ours.main(argv, sigrl=True)


if __name__ == '__main__':
    sys.exit(_cli.run(main))
