# DeepSpeed ZeRO for large CLIP towers through mmengine's FlexibleRunner
# (needs `pip install deepspeed` and an accelerator):
#   _base_ = ['../mkt_nuswide.py', '_base_/strategies/deepspeed.py']
#   bash tools/dist_train.sh CONFIG 8
# ZeRO stage 2 shards optimizer states and gradients; stage 3 also the
# parameters. The optimizer wrapper must be DeepSpeed's: in the child config
#   optim_wrapper = dict(type='DeepSpeedOptimWrapper')
# (merged into the method's optim_wrapper, keeping its optimizer; not set
# here because mmengine forbids a key defined in two _base_ files).
# See docs/performance.md.
runner_type = 'FlexibleRunner'
strategy = dict(
    type='DeepSpeedStrategy',
    bf16=dict(enabled=True),
    zero_optimization=dict(
        stage=2,
        allgather_partitions=True,
        allgather_bucket_size=int(2e8),
        reduce_scatter=True,
        reduce_bucket_size='auto',
        overlap_comm=True,
        contiguous_gradients=True),
    gradient_clipping=1.0,
    # the towers' inputs are images; DeepSpeed casts them to bf16
    inputs_to_half=['inputs'],
    exclude_frozen_parameters=True)
