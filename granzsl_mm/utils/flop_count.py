"""FLOPs of a computation, every matrix product counted.

torch's ``FlopCounterMode`` misses two kernels a CLIP tower runs on a CPU:
``nn.MultiheadAttention``'s inference fast path (one fused op: its input
projections and attention go uncounted, about 30 % of a ViT-B/16) and the
CPU flash-attention kernel of ``scaled_dot_product_attention``. Here the
fast path is switched off while counting (the same products run unfused)
and the CPU attention kernel gets the formula of the other attention
kernels.
"""
from typing import Callable

import torch
from torch.utils.flop_counter import FlopCounterMode, sdpa_flop_count

__all__ = ['count_flops']


def _cpu_attention_flops(query, key, value, *args, **kwargs) -> int:
    return sdpa_flop_count(query, key, value)


def count_flops(fn: Callable[[], object]) -> int:
    """FLOPs of ``fn()`` (2 per multiply-add), attention included.

    Args:
        fn: The computation, run once (its result discarded).

    Returns:
        int: Floating-point operations of its matrix products,
        convolutions and attention.
    """
    aten = torch.ops.aten
    mapping = {}
    if hasattr(aten, '_scaled_dot_product_flash_attention_for_cpu'):
        mapping[aten._scaled_dot_product_flash_attention_for_cpu] = \
            _cpu_attention_flops
    counter = FlopCounterMode(display=False, custom_mapping=mapping)
    fast = torch.backends.mha.get_fastpath_enabled()
    torch.backends.mha.set_fastpath_enabled(False)
    try:
        with counter:
            fn()
    finally:
        torch.backends.mha.set_fastpath_enabled(fast)
    return counter.get_total_flops()
