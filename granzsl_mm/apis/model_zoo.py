"""``get_model`` / ``list_models`` over the metafile of our configs."""
import fnmatch
import os.path as osp
from typing import Dict, List, Optional, Union

import torch.nn as nn
from mmengine.config import Config

__all__ = ['list_models', 'get_model', 'model_index', 'configs_root',
           'register_model_index']


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


def register_model_index() -> None:
    """Register ``configs/metafile.yml`` with MMPretrain's model hub.

    Afterwards ``mmpretrain.list_models('*granzsl*')`` lists our models and
    ``mmpretrain.get_model`` / ``inference_model`` take their names (the
    configs build in our scope through their ``model._scope_``). Idempotent:
    a second call changes nothing.

    Raises:
        ValueError: A name of ours is already in the hub for another config
            (MMPretrain's own conflict check).
    """
    from mmpretrain.apis.model import ModelHub
    root = configs_root()
    index = model_index()
    missing = [name for name in index if not ModelHub.has(name.lower())]
    if not missing:
        return
    if len(missing) == len(index):
        ModelHub.register_model_index(osp.join(root, 'metafile.yml'),
                                      config_prefix=osp.dirname(root))
        return
    # the metafile gained models since the last call (an edit while a long
    # process runs): register those only, the others are in the hub already
    import tempfile

    import yaml
    with open(osp.join(root, 'metafile.yml')) as f:
        meta = yaml.safe_load(f)
    meta['Models'] = [m for m in meta.get('Models') or []
                      if m['Name'] in missing]
    with tempfile.TemporaryDirectory(prefix='granzsl_model_index_') as tmp:
        path = osp.join(tmp, 'metafile.yml')
        with open(path, 'w') as f:
            yaml.safe_dump(meta, f)
        ModelHub.register_model_index(path, config_prefix=osp.dirname(root))


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

    from granzsl_mm.models.backbones.tower_weights import mark_checkpoint_towers
    from granzsl_mm.registry import MODELS, import_registered_modules

    from .weights import check_checkpoint_fits, explain_build_error, set_clip_weights
    import_registered_modules()
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
        mark_checkpoint_towers(net, state, pretrained)
    net.cfg = cfg
    if device is not None:
        net = net.to(device)
    return net.eval()
