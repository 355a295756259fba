"""FLOPs and parameters of a config's model (MMPretrain's ``get_flops.py``).

Counted with ``mmengine.analysis.get_model_complexity_info`` (a jit trace:
no fvcore needed) on one zero image of ``--shape``. By default the whole
scoring forward (``mode='tensor'``: image -> scores against the config's
label set, snippets included where the model cuts them); ``--backbone-only``
counts ``extract_feat`` as MMPretrain's tool does. Text features are
computed before the count (they are cached at test time), so the figure is
the per-image cost.

Usage::

    python tools/analysis_tools/get_flops.py configs/clip_zeroshot_demo.py
    python tools/analysis_tools/get_flops.py CONFIG --shape 224 224 --backbone-only
"""
import _cli

import argparse
import sys
from typing import Optional, Sequence

import torch
import torch.nn as nn
from mmengine.config import Config, DictAction


class _Forward(nn.Module):
    """``model(x, mode='tensor')`` or ``model.extract_feat(x)`` as a module."""

    def __init__(self, model: nn.Module, backbone_only: bool) -> None:
        super().__init__()
        self.model = model
        self.backbone_only = backbone_only

    def forward(self, inputs: torch.Tensor):
        if self.backbone_only:
            return self.model.extract_feat(inputs)
        return self.model(inputs, mode='tensor')


def complexity(cfg: Config, shape: Sequence[int],
               backbone_only: bool = False) -> dict:
    """Count FLOPs and parameters of ``cfg.model`` on a ``[1, 3, H, W]`` input.

    Args:
        cfg (Config): The config.
        shape (Sequence[int]): ``(H, W)`` of the input image.
        backbone_only (bool): Count ``extract_feat`` only.

    Returns:
        dict: ``flops`` (int), ``params`` (int), ``flops_str``, ``params_str``,
        ``out_table`` (mmengine's per-module table).
    """
    from mmengine.analysis import get_model_complexity_info
    from mmengine.registry import init_default_scope

    from granzsl_mm import register_all_modules
    from granzsl_mm.registry import MODELS
    register_all_modules(init_default_scope=False)
    init_default_scope(cfg.get('default_scope', 'granzsl_mm'))
    model = MODELS.build(cfg.model).eval()
    wrapped = _Forward(model, backbone_only).eval()
    inputs = torch.zeros(1, 3, *shape)
    with torch.no_grad():
        wrapped(inputs)  # warm-up: text features and lazy buffers
        info = get_model_complexity_info(wrapped, inputs=(inputs, ),
                                         show_table=True, show_arch=False)
    return info


def main(argv: Optional[Sequence[str]] = None) -> None:
    parser = argparse.ArgumentParser(description='FLOPs and parameters')
    parser.add_argument('config', help='config file path')
    parser.add_argument('--shape', type=int, nargs='+', default=[224, 224],
                        help='input image size: H [W]')
    parser.add_argument('--backbone-only', action='store_true',
                        help='count extract_feat only (MMPretrain\'s figure)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override settings, key=value')
    args = parser.parse_args(argv)
    if len(args.shape) == 1:
        shape = (args.shape[0], args.shape[0])
    elif len(args.shape) == 2:
        shape = tuple(args.shape)
    else:
        parser.error('--shape takes H or H W')
    cfg = Config.fromfile(args.config)
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    info = complexity(cfg, shape, args.backbone_only)
    print(info['out_table'])
    split = '=' * 30
    print(f'{split}\nInput shape: (3, {shape[0]}, {shape[1]})\n'
          f'Flops: {info["flops_str"]}\nParams: {info["params_str"]}\n'
          f'{split}')
    print('Counted by a jit trace of one forward; operators mmengine has no '
          'handle for are left out (listed above as skipped, if any).')


if __name__ == '__main__':
    sys.exit(_cli.run(
        main, clip_option='--cfg-options model.backbone.pretrained=FILE'))
