"""count_flops sees what FlopCounterMode misses: nn.MultiheadAttention's
inference fast path and the CPU attention kernel."""
import torch

from granzsl_mm.utils.flop_count import count_flops


def test_attention_block_flops_equal_the_formula():
    batch, num, width, heads = 2, 5, 8, 2
    attn = torch.nn.MultiheadAttention(width, heads, batch_first=True).eval()
    x = torch.randn(batch, num, width)
    fast = torch.backends.mha.get_fastpath_enabled()
    with torch.no_grad():
        flops = count_flops(lambda: attn(x, x, x, need_weights=False))
        out = count_flops(lambda: attn(x, x, x, need_weights=False)[0].sum())
    projections = 2 * batch * num * width * (3 * width + width)
    products = 2 * 2 * batch * num * num * width  # q k^T and attention @ v
    assert flops == out == projections + products
    assert torch.backends.mha.get_fastpath_enabled() == fast  # restored
