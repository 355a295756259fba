"""``get_model`` / ``list_models`` over the metafile of our configs."""
import fnmatch
import os.path as osp
from typing import Dict, List, Optional, Union

import torch.nn as nn
from mmengine.config import Config

__all__ = ['list_models', 'get_model', 'model_index', 'configs_root']


def configs_root() -> str:
    """The ``configs/`` folder beside the package (editable installs)."""
    here = osp.dirname(osp.dirname(osp.abspath(__file__)))
    for candidate in (osp.join(here, '.mim', 'configs'),
                      osp.join(osp.dirname(here), 'configs')):
        if osp.isdir(candidate):
            return candidate
    raise FileNotFoundError(
        'Cannot find the configs folder of granzsl_mm; install the project '
        'with `pip install -e .` from its repository.')


def model_index() -> Dict[str, dict]:
    """Models described in ``configs/metafile.yml``, by name."""
    from mmengine.fileio import load
    root = configs_root()
    meta = load(osp.join(root, 'metafile.yml'))
    models = {}
    for entry in meta.get('Models', []):
        entry = dict(entry)
        entry['Config'] = osp.join(osp.dirname(root), entry['Config'])
        models[entry['Name']] = entry
    return models


def list_models(pattern: Optional[str] = None) -> List[str]:
    """Names of the models in the metafile, optionally filtered.

    Args:
        pattern (str, optional): fnmatch pattern, e.g. ``'granzsl*'``.

    Returns:
        list[str]: Sorted names.
    """
    names = sorted(model_index())
    if pattern:
        names = [n for n in names if fnmatch.fnmatch(n, pattern)]
    return names


def get_model(model: Union[str, Config], pretrained: Union[bool, str] = False,
              device: Optional[str] = None,
              clip_weights: Optional[str] = None, **cfg_options) -> nn.Module:
    """Build a model from a metafile name or a config (path or object).

    Args:
        model (str | Config): Name from :func:`list_models`, a config path or
            a loaded config.
        pretrained (bool | str): ``True`` loads the metafile's weights; a
            string is a checkpoint path or URL. Loading goes through the safe
            loader of :mod:`granzsl_mm.utils.safe_checkpoint`; a file that
            does not fit the model (an open_clip file, a checkpoint of
            another model) is refused
            (:func:`granzsl_mm.apis.weights.check_checkpoint_fits`).
        device (str, optional): Move the model there.
        clip_weights (str, optional): A local open_clip / OpenAI CLIP
            weights file for the model's CLIP
            (:func:`granzsl_mm.apis.weights.set_clip_weights`).
        **cfg_options: Merged into the config before building.

    Returns:
        nn.Module: The built model, in eval mode, with ``cfg`` attached.

    Raises:
        CheckpointMismatchError: ``pretrained`` does not fit the model.
        ClipWeightsError: A CLIP file of another architecture.
    """
    from mmengine.registry import init_default_scope
    from mmengine.runner.checkpoint import _load_checkpoint_to_model

    from granzsl_mm import register_all_modules
    from granzsl_mm.registry import MODELS

    from .weights import check_checkpoint_fits, explain_build_error, set_clip_weights
    register_all_modules(init_default_scope=False)
    weights = None
    if isinstance(model, Config):
        cfg = model
    elif osp.isfile(model):
        cfg = Config.fromfile(model)
    else:
        index = model_index()
        if model not in index:
            raise ValueError(f'Unknown model {model!r}; available: '
                             f'{", ".join(sorted(index))}')
        cfg = Config.fromfile(index[model]['Config'])
        weights = index[model].get('Weights')
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    if clip_weights:
        set_clip_weights(cfg, clip_weights)
    init_default_scope(cfg.get('default_scope', 'granzsl_mm'))
    try:
        net = MODELS.build(cfg.model)
    except (AssertionError, RuntimeError) as e:
        message = explain_build_error(cfg, e)
        if message is None:
            raise
        from .weights import ClipWeightsError
        raise ClipWeightsError(message) from e
    if pretrained is True:
        if not weights:
            raise ValueError(f'{model!r} has no released weights in the '
                             'metafile; pass a checkpoint path instead.')
        pretrained = weights
    if isinstance(pretrained, str):
        state = check_checkpoint_fits(net, pretrained)
        _load_checkpoint_to_model(net, {k: v for k, v in state.items()
                                        if not k.startswith('__')})
    net.cfg = cfg
    if device is not None:
        net = net.to(device)
    return net.eval()
