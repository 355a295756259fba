# FSDP (fully sharded data parallel) for large CLIP towers (ViT-L/14,
# ViT-H/14) fine-tuned by MKT / SigRL, through mmengine's FlexibleRunner:
#   _base_ = ['../mkt_nuswide.py', '_base_/strategies/fsdp.py']
#   bash tools/dist_train.sh CONFIG 8            # one node, 8 GPUs
# Each open_clip transformer block is one FSDP unit (parameters, gradients
# and optimizer state sharded over the ranks). FSDP needs CUDA process groups
# (NCCL); it refuses CPU-only ones. See docs/performance.md.
runner_type = 'FlexibleRunner'
custom_imports = dict(imports=['granzsl_mm.engine.fsdp_wrap'],
                      allow_failed_imports=False)
strategy = dict(
    type='FSDPStrategy',
    model_wrapper=dict(
        type='MMFullyShardedDataParallel',
        auto_wrap_policy=dict(type='clip_block_wrap_policy'),
        # frozen and trainable parameters share FSDP units (MKT/SigRL train
        # only the last blocks): keep the original parameters
        use_orig_params=True,
        sharding_strategy='FULL_SHARD',
        # bf16 compute and communication; set None for fp32
        mixed_precision=dict(param_dtype='bfloat16', reduce_dtype='float32',
                             buffer_dtype='float32')),
    # rank 0 writes one full (unsharded) checkpoint, loadable without FSDP
    state_dict_cfg='full')
