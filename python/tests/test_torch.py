"""torch.autograd through a blackbox layer (runs only where torch is installed)."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")
import jacsense.torch  # noqa: E402

A = np.random.default_rng(0).standard_normal((5, 8))


def test_backward_matches_the_analytic_gradient():
    layer = jacsense.torch.blackbox(lambda x: np.tanh(A @ x), central=True)
    x = torch.linspace(-1.0, 1.0, 8, dtype=torch.float64, requires_grad=True)
    loss = (layer(x) ** 2).sum()
    loss.backward()
    y = np.tanh(A @ x.detach().numpy())
    analytic = A.T @ (2 * y * (1 - y ** 2))
    assert np.linalg.norm(x.grad.numpy() - analytic) / np.linalg.norm(analytic) < 1e-8
    # Nothing known: the told-nothing session's one round of n + ⌈0.05 n⌉ + 2 = 11
    # directions (least squares, redundancy that validates), two calls each.
    assert layer.calls_per_backward == [22]


def test_vmap_over_a_leading_axis():
    layer = jacsense.torch.blackbox(lambda x: np.tanh(A @ x))
    X = torch.stack([torch.linspace(-1.0, 1.0, 8), torch.zeros(8), torch.linspace(0.5, -0.5, 8)]).double()
    X.requires_grad_(True)
    torch.vmap(layer)(X).sum().backward()
    for x, g in zip(X.detach().numpy(), X.grad.numpy()):
        analytic = A.T @ (1 - np.tanh(A @ x) ** 2)
        assert np.linalg.norm(g - analytic) / np.linalg.norm(analytic) < 1e-6
    assert len(layer.calls_per_backward) == 3
