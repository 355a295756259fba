"""Several optimizers for one model, its parameters split by name.

mmengine trains with several optimizers through an ``OptimWrapperDict``,
built by an optim-wrapper constructor. mmagic's ``MultiOptimWrapperConstructor``
gives each optimizer a submodule; some recipes split by parameter name
instead (Recover-and-Match: AdamW for the adapters and temperatures, SGD for
the learnable tokens, all of them attributes of one model).
``ParamSplitOptimWrapperConstructor`` builds one wrapper per named entry::

    optim_wrapper = dict(
        constructor='ParamSplitOptimWrapperConstructor',
        adamw=dict(optimizer=dict(type='AdamW', lr=5e-5),
                   paramwise_cfg=dict(custom_keys={'adapters.': ...})),
        sgd=dict(optimizer=dict(type='SGD', lr=1e-3, momentum=0.9),
                 params=('adapter_tokens.', 'text_prompts.')))

An entry's ``params`` lists name prefixes; the one entry without ``params``
takes every other trainable parameter. Within an entry ``paramwise_cfg``
works as in mmengine's ``DefaultOptimWrapperConstructor`` (its rules are
applied to the whole model, then only the entry's parameters are kept).
AMP wrappers (``AmpOptimWrapper``) share one loss scaler, as torch's recipe
for several optimizers (one ``GradScaler``: scale, backward, step each, one
update); the model's ``train_step`` must then step them together
(``RecoverMatch.train_step``).
"""
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

import torch.nn as nn
from mmengine.optim import (
    AmpOptimWrapper,
    DefaultOptimWrapperConstructor,
    OptimWrapperDict,
)

from granzsl_mm.registry import OPTIM_WRAPPER_CONSTRUCTORS, OPTIM_WRAPPERS, OPTIMIZERS

__all__ = ['ParamSplitOptimWrapperConstructor', 'split_parameter_names']


def split_parameter_names(names: Iterable[str],
                          prefixes: Dict[str, Optional[Sequence[str]]]
                          ) -> Dict[str, List[str]]:
    """Assign parameter names to wrappers by name prefix.

    Args:
        names: Names of the trainable parameters.
        prefixes: Wrapper name -> its name prefixes; exactly one wrapper has
            ``None`` and takes the names no prefix matches.

    Returns:
        dict: Wrapper name -> its parameter names (in ``names``' order).

    Raises:
        ValueError: Not exactly one catch-all wrapper, a name matching the
            prefixes of two wrappers, or a prefix matching no name.
    """
    rest = [k for k, v in prefixes.items() if v is None]
    if len(rest) != 1:
        raise ValueError('exactly one optim wrapper must leave out `params` '
                         f'(it takes the other parameters); got {rest}')
    out: Dict[str, List[str]] = {k: [] for k in prefixes}
    used = set()
    for name in names:
        hits = {k: [p for p in v if name.startswith(p)]
                for k, v in prefixes.items() if v is not None}
        owners = [k for k, h in hits.items() if h]
        if len(owners) > 1:
            raise ValueError(f'parameter {name} matches the params of '
                             f'several optim wrappers: {owners}')
        out[owners[0] if owners else rest[0]].append(name)
        for h in hits.values():
            used.update(h)
    unused = [p for v in prefixes.values() if v is not None for p in v
              if p not in used]
    if unused:
        raise ValueError(f'optim wrapper params {unused} match no trainable '
                         'parameter')
    return out


def _view(model: nn.Module, chosen: set) -> nn.Module:
    """The model's own parameters and the children holding ``chosen``
    ones, under their names (a frozen tower is left out: mmengine would warn
    about each of its parameters)."""
    view = nn.Module()
    for name, param in model.named_parameters(recurse=False):
        view.register_parameter(name, param)
    for name, child in model.named_children():
        if any(id(p) in chosen for p in child.parameters()):
            view.add_module(name, child)
    return view


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class ParamSplitOptimWrapperConstructor:
    """Build an ``OptimWrapperDict``: one wrapper per named entry.

    Args:
        optim_wrapper_cfg (dict): Wrapper name -> its config (``type``,
            default ``'OptimWrapper'``; ``optimizer``; optional
            ``paramwise_cfg`` and ``params``, the name prefixes of its
            parameters).
        paramwise_cfg (dict, optional): Must be ``None``: each entry holds
            its own.
    """

    def __init__(self, optim_wrapper_cfg: dict,
                 paramwise_cfg: Optional[dict] = None) -> None:
        if paramwise_cfg:
            raise ValueError('ParamSplitOptimWrapperConstructor: put '
                             'paramwise_cfg inside each optim wrapper entry')
        self.entries: Dict[str, Tuple[dict, dict, Optional[Tuple[str, ...]]]] = {}
        for name, cfg in optim_wrapper_cfg.items():
            if not isinstance(cfg, dict) or 'optimizer' not in cfg:
                raise ValueError(f'optim_wrapper.{name}: each entry of a split '
                                 'optim wrapper is a dict with an optimizer')
            cfg = dict(cfg)
            params = cfg.pop('params', None)
            paramwise = cfg.pop('paramwise_cfg', None) or {}
            cfg.setdefault('type', 'OptimWrapper')
            self.entries[name] = (cfg, paramwise, None if params is None
                                  else tuple(params))
        rest = [k for k, v in self.entries.items() if v[2] is None]
        if len(rest) != 1:
            raise ValueError('ParamSplitOptimWrapperConstructor: exactly one '
                             'optim wrapper entry leaves out `params` (it '
                             f'takes the other parameters); got {rest}')

    def __call__(self, model: nn.Module) -> OptimWrapperDict:
        model = getattr(model, 'module', model)
        named = [(n, p) for n, p in model.named_parameters()
                 if p.requires_grad]
        split = split_parameter_names(
            [n for n, _ in named],
            {k: v[2] for k, v in self.entries.items()})
        by_name = dict(named)
        wrappers = {}
        for name, (cfg, paramwise, _) in self.entries.items():
            chosen = {id(by_name[n]) for n in split[name]}
            wrapper_cfg = dict(cfg)
            optimizer_cfg = dict(wrapper_cfg.pop('optimizer'))
            # mmengine's paramwise rules (names and module types as in the
            # model), then this entry's parameters only
            rules = DefaultOptimWrapperConstructor(
                dict(optimizer=optimizer_cfg), paramwise)
            groups: List[dict] = []
            rules.add_params(groups, _view(model, chosen))
            groups = [g for g in groups if id(g['params'][0]) in chosen]
            optimizer = OPTIMIZERS.build(dict(optimizer_cfg, params=groups))
            wrappers[name] = OPTIM_WRAPPERS.build(
                wrapper_cfg, default_args=dict(optimizer=optimizer))
        amp = [w for w in wrappers.values() if isinstance(w, AmpOptimWrapper)]
        if amp and len(amp) != len(wrappers):
            raise ValueError('optim wrappers of one model are either all '
                             'AmpOptimWrapper or none (they share one loss '
                             'scaler)')
        for wrapper in amp[1:]:
            wrapper.loss_scaler = amp[0].loss_scaler
        return OptimWrapperDict(**wrappers)
