# Runtime defaults of granzsl_mm configs (MMPretrain's, plus exact resumption).
default_scope = 'granzsl_mm'

default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50),
    param_scheduler=dict(type='ParamSchedulerHook'),
    # mmengine's CheckpointHook, its last_checkpoint pointer and checkpoint
    # files written atomically (the granzsl_atomic file backend).
    checkpoint=dict(type='AtomicCheckpointHook', interval=1, max_keep_ckpts=3,
                    backend_args=dict(backend='granzsl_atomic')),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='VisualizationHook', enable=False),
)
# RNGStateHook saves/restores Python, NumPy and torch RNG states with each
# checkpoint; SafeFormHook keeps checkpoints loadable with weights_only=True.
custom_hooks = [dict(type='RNGStateHook'), dict(type='SafeFormHook')]

env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    dist_cfg=dict(backend='nccl'),  # tools switch to gloo when CUDA is absent
)

vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(type='UniversalVisualizer', vis_backends=vis_backends)
log_level = 'INFO'
load_from = None
resume = False
randomness = dict(seed=0, deterministic=False)
