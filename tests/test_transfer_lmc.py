"""Linear mode connectivity on tiny models whose interpolated loss is known in closed form."""

import numpy as np
import pytest
import torch
from torch import nn

from junkdna.errors import JunkDNAError
from junkdna.transfer.lmc import interpolate, loss_barrier

ALPHAS = np.linspace(0, 1, 11)


def test_loss_barrier_hand_values():
    # chord at 0.5 is (1 + 2) / 2 = 1.5; the loss there is 3 -> barrier 1.5
    assert loss_barrier([0, 0.5, 1], [1.0, 3.0, 2.0]) == pytest.approx(1.5)
    # below the chord everywhere inside: the endpoints give the maximum excess, 0
    assert loss_barrier([0, 0.25, 0.5, 1], [1.0, 0.5, 0.2, 2.0]) == 0.0
    # order of the grid does not matter
    assert loss_barrier([1, 0.5, 0], [2.0, 3.0, 1.0]) == pytest.approx(1.5)


def test_loss_barrier_rejects_bad_grids():
    with pytest.raises(JunkDNAError, match="include 0 and 1"):
        loss_barrier([0.0, 0.5], [1.0, 2.0])
    with pytest.raises(JunkDNAError, match="equal length"):
        loss_barrier([0.0, 1.0], [1.0])
    with pytest.raises(JunkDNAError, match="finite"):
        loss_barrier([0.0, 1.0], [1.0, float("nan")])


class Product(nn.Module):
    """y = v * (u * x): two scalar weights, so (u, v) and (-u, -v) compute the same function."""

    def __init__(self):
        super().__init__()
        self.u = nn.Linear(1, 1, bias=False)
        self.v = nn.Linear(1, 1, bias=False)
        self.register_buffer("steps", torch.tensor(5))  # an integer buffer that must agree

    def forward(self, x):
        return self.v(self.u(x))


def mse_eval(x, y):
    def evaluate(model):
        with torch.no_grad():
            pred = model(x)
        loss = float(((pred - y) ** 2).mean())
        return loss, float((pred - y).abs().lt(0.1).float().mean())

    return evaluate


def test_symmetric_solutions_have_the_analytic_barrier():
    # theta(alpha) has u = v = 1 - 2 alpha, so y_hat = (1 - 2 alpha)^2 x against target x:
    # loss(alpha) = 16 alpha^2 (1 - alpha)^2 E[x^2]; endpoints 0, barrier E[x^2] at alpha = 1/2.
    torch.manual_seed(0)
    x = torch.randn(64, 1)
    model = Product()
    a = {"u.weight": torch.ones(1, 1), "v.weight": torch.ones(1, 1), "steps": torch.tensor(5)}
    b = {"u.weight": -torch.ones(1, 1), "v.weight": -torch.ones(1, 1), "steps": torch.tensor(5)}
    before = {k: v.clone() for k, v in model.state_dict().items()}
    res = interpolate(model, a, b, ALPHAS, mse_eval(x, x))
    ex2 = float((x**2).mean())
    expected = 16 * ALPHAS**2 * (1 - ALPHAS) ** 2 * ex2
    np.testing.assert_allclose(res.losses, expected, rtol=1e-5, atol=1e-7)
    assert res.barrier == pytest.approx(ex2, rel=1e-5)
    assert res.metrics[0] == res.metrics[-1] == 1.0
    # the model's own weights are back
    for k, v in model.state_dict().items():
        assert torch.equal(v, before[k])
    assert list(res.to_frame().columns) == ["alpha", "loss", "metric"]


def test_linear_regression_is_convex_so_no_barrier():
    # Predictions are linear in the weights: residual(alpha) = (1 - alpha) r_a + alpha r_b, so
    # loss(alpha) - chord = -alpha (1 - alpha) E[(r_b - r_a)^2] <= 0 and the barrier is 0.
    torch.manual_seed(1)
    x, y = torch.randn(50, 3), torch.randn(50, 1)
    model = nn.Linear(3, 1)
    a = {"weight": torch.randn(1, 3), "bias": torch.randn(1)}
    b = {"weight": torch.randn(1, 3), "bias": torch.randn(1)}
    res = interpolate(model, a, b, ALPHAS, mse_eval(x, y))
    r_a = (x @ a["weight"].T + a["bias"] - y).numpy().ravel()
    r_b = (x @ b["weight"].T + b["bias"] - y).numpy().ravel()
    expected = [np.mean(((1 - t) * r_a + t * r_b) ** 2) for t in ALPHAS]
    np.testing.assert_allclose(res.losses, expected, rtol=1e-5)
    mid = res.losses[5] - (res.losses[0] + res.losses[-1]) / 2
    assert mid == pytest.approx(-0.25 * np.mean((r_b - r_a) ** 2), rel=1e-4)
    assert res.barrier == pytest.approx(0.0, abs=1e-6)


def test_mismatched_states_and_eval_failures():
    model = Product()
    good = {k: v.clone() for k, v in model.state_dict().items()}
    with pytest.raises(JunkDNAError, match="missing"):
        interpolate(model, {"u.weight": torch.ones(1, 1)}, good, [0, 1], lambda m: (0.0, 0.0))
    wrong = good | {"u.weight": torch.ones(2, 1)}
    with pytest.raises(JunkDNAError, match="shape"):
        interpolate(model, good, wrong, [0, 1], lambda m: (0.0, 0.0))
    other_steps = good | {"steps": torch.tensor(9)}
    with pytest.raises(JunkDNAError, match="non-float entry 'steps'"):
        interpolate(model, good, other_steps, [0, 1], lambda m: (0.0, 0.0))
    with pytest.raises(JunkDNAError, match="must include 'loss'"):
        interpolate(model, good, good, [0, 1], lambda m: {"acc": 1.0})

    # A failing evaluation still restores the weights.
    far = {k: (v + 10 if v.is_floating_point() else v) for k, v in good.items()}

    def boom(m):
        raise RuntimeError("eval failed")

    with pytest.raises(RuntimeError):
        interpolate(model, far, far, [0, 1], boom)
    assert torch.equal(model.u.weight, good["u.weight"])
    # a mapping result works too
    res = interpolate(model, good, good, [0, 0.5, 1], lambda m: {"loss": 2.0, "metric": 0.5})
    assert res.losses == [2.0, 2.0, 2.0] and res.barrier == 0.0
