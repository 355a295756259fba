"""Registration of every module of MMPretrain and granzsl_mm."""
import datetime
import warnings

__all__ = ['register_all_modules']


def register_all_modules(init_default_scope: bool = True) -> None:
    """Fill the registries and tell MMPretrain and open_clip about our models.

    An explicit call (importing ``granzsl_mm`` changes nothing):

    * imports MMPretrain's modules, then ours (the registries' locations,
      :func:`granzsl_mm.registry.import_registered_modules`);
    * registers our model index (``configs/metafile.yml``) with MMPretrain's
      model hub, so ``mmpretrain.list_models('*granzsl*')``,
      ``mmpretrain.get_model(name)`` and ``mmpretrain.inference_model(name,
      ...)`` know our configs
      (:func:`granzsl_mm.apis.model_zoo.register_model_index`);
    * registers our CLIP architectures (``TinyCLIP-world``,
      ``TinyCLIP-test``) with open_clip
      (:func:`~granzsl_mm.models.backbones.open_clip_builder.register_own_configs`).

    Every step is idempotent. Nothing of mmengine is patched: checkpoint
    safety comes from the hooks and the file backend the configs name (see
    ``docs/architecture.md``).

    Args:
        init_default_scope (bool): Set the default scope to ``granzsl_mm``.
            Defaults to True.
    """
    from mmengine import DefaultScope

    from granzsl_mm.apis.model_zoo import register_model_index
    from granzsl_mm.models.backbones.open_clip_builder import register_own_configs
    from granzsl_mm.registry import import_registered_modules
    import_registered_modules()
    register_model_index()
    register_own_configs()

    if not init_default_scope:
        return
    current = DefaultScope.get_current_instance()
    if current is None:
        DefaultScope.get_instance('granzsl_mm', scope_name='granzsl_mm')
    elif current.scope_name != 'granzsl_mm':
        warnings.warn(f'The current default scope "{current.scope_name}" is '
                      'not "granzsl_mm"; register_all_modules switches it.',
                      stacklevel=2)
        DefaultScope.get_instance(f'granzsl_mm-{datetime.datetime.now()}',
                                  scope_name='granzsl_mm')
