"""Dense GATv2 against a straightforward per-edge computation."""
import pytest
import torch
import torch.nn.functional as F

from granzsl_mm.models.layers import GATv2, GATv2Layer


def _per_edge(layer, h, adj):
    """Loop over targets i and their sources j, head by head."""
    num, heads, dim = h.shape[0], layer.num_heads, layer.head_dim
    w_l = layer.linear_l.weight
    w_r = w_l if layer.linear_r is None else layer.linear_r.weight
    a = layer.attn.weight[0]
    out = torch.zeros(num, heads, dim)
    for i in range(num):
        for k in range(heads):
            rows = slice(k * dim, (k + 1) * dim)
            target = w_l[rows] @ h[i]
            sources = [j for j in range(num) if adj[i, j]]
            scores = torch.stack([
                a @ F.leaky_relu(target + w_r[rows] @ h[j], 0.2)
                for j in sources])
            alpha = scores.softmax(dim=0)
            for weight, j in zip(alpha, sources):
                out[i, k] += weight * (w_r[rows] @ h[j])
    return out.reshape(num, heads * dim) if layer.concat else out.mean(1)


@pytest.mark.parametrize('share,concat', [(True, True), (False, True),
                                          (False, False)])
def test_layer_matches_per_edge_loop(share, concat):
    torch.manual_seed(0)
    layer = GATv2Layer(6, 8, num_heads=2, concat=concat, dropout=0.5,
                       share_weights=share).eval()
    h = torch.randn(5, 6)
    adj = torch.rand(5, 5) > 0.5
    adj.fill_diagonal_(True)
    expected = _per_edge(layer, h, adj)
    torch.testing.assert_close(layer(h, adj), expected, rtol=1e-5, atol=1e-6)
    complete = torch.ones(5, 5, dtype=torch.bool)
    torch.testing.assert_close(layer(h), _per_edge(layer, h, complete),
                               rtol=1e-5, atol=1e-6)


def test_chunked_equals_whole_values_and_gradients():
    torch.manual_seed(1)
    whole = GATv2(8, 8, 8, num_heads=4, dropout=0.0)
    chunked = GATv2(8, 8, 8, num_heads=4, dropout=0.0, chunk_size=3)
    chunked.load_state_dict(whole.state_dict())
    h = torch.randn(7, 8)
    outs = []
    for model in (whole, chunked):
        model.train()
        out = model(h)
        (out ** 2).sum().backward()
        outs.append(out)
    torch.testing.assert_close(outs[0], outs[1])
    for (name, p), q in zip(whole.named_parameters(), chunked.parameters()):
        torch.testing.assert_close(p.grad, q.grad, msg=name)


def test_two_layer_composition_and_shapes():
    torch.manual_seed(2)
    gat = GATv2(16, 8, 12, num_heads=4, dropout=0.3).eval()
    h = torch.randn(6, 16)
    expected = gat.layer2(F.elu(gat.layer1(h)))
    out = gat(h)
    assert out.shape == (6, 12)
    assert gat.layer1.linear_l.weight.shape == (8, 16)  # 4 heads x 2
    assert gat.layer1.attn.weight.shape == (1, 2)
    torch.testing.assert_close(out, expected)
    gat.train()
    gat(h).sum().backward()
    assert all(p.grad is not None for p in gat.parameters())


def test_bad_input():
    with pytest.raises(ValueError, match='divisible'):
        GATv2Layer(4, 6, num_heads=4)
    layer = GATv2Layer(4, 4, num_heads=2)
    with pytest.raises(ValueError, match='adj'):
        layer(torch.randn(3, 4), torch.ones(2, 2))
    with pytest.raises(ValueError, match='h must'):
        layer(torch.randn(2, 3, 4))
