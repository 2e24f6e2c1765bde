"""Hessian-vector products, λ_max by Lanczos and power iteration, and the sharpness probe."""

import copy

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from helpers import DeepLinearEnsemble, DeepLinearNet, TensorData, build_model, fit, train
from helpers.data import BatchSampler
from helpers.probes import _norm
from helpers.sharpness import (
    HVP_METHODS,
    HessianOperator,
    SharpnessProbe,
    hvp,
    lanczos,
    model_loss,
    power_iteration,
    top_hessian_eigenvalue,
)
from helpers.train import Task, make_task

from .test_train import same_history, small
from .tolerances import gamma

D = torch.float64


def flat_function(loss_fn, params):
    """``loss_fn`` of a list of tensors as a function of one flat vector."""
    shapes = [p.shape for p in params]
    sizes = [p.numel() for p in params]

    def f(theta):
        return loss_fn([part.reshape(s) for part, s in zip(theta.split(sizes), shapes)])

    return f, torch.cat([p.reshape(-1) for p in params])


def explicit_hessian(loss_fn, params) -> torch.Tensor:
    """The full Hessian, row by row with plain autograd. Not ``torch.func.hessian``: through BN in training
    mode its vmap gives wrong entries (torch 2.14.1: off by 3 % of the largest; finite differences agree
    with this one and with both HVP methods)."""
    f, theta = flat_function(loss_fn, params)
    return torch.autograd.functional.hessian(f, theta)


def flat(tensors) -> torch.Tensor:
    return torch.cat([t.reshape(-1) for t in tensors])


def tiny_mlp_loss():
    """A loss with curvature everywhere (tanh), in float64, and a point and a direction."""
    gen = torch.Generator().manual_seed(0)
    x, y = torch.randn(10, 3, generator=gen, dtype=D), torch.randn(10, 2, generator=gen, dtype=D)

    def loss(ps):
        w1, b1, w2 = ps
        return (torch.tanh(x @ w1.T + b1) @ w2.T - y).pow(2).sum(-1).mean()

    params = [torch.randn(4, 3, generator=gen, dtype=D), torch.randn(4, generator=gen, dtype=D),
              torch.randn(2, 4, generator=gen, dtype=D)]
    return loss, params, [torch.randn(p.shape, generator=gen, dtype=D) for p in params]


@pytest.mark.parametrize("method", HVP_METHODS)
def test_hvp_equals_the_explicit_hessian_times_v(method):
    loss, params, v = tiny_mlp_loss()
    expected = explicit_hessian(loss, params) @ flat(v)
    got = flat(hvp(loss, params, v, method=method))
    # float64, the same maths two ways: both round at about 1e-15 of ‖Hv‖ on this 30-parameter net
    assert torch.linalg.vector_norm(got - expected) <= 1e-10 * torch.linalg.vector_norm(expected)
    operator = HessianOperator(loss, params, method)  # one operator, many products: the same each time
    assert torch.equal(flat(operator(v)), flat(operator(v))) and operator.calls == 2


def bn_net_and_batch():
    """Linear → BN (training mode, non-trivial running statistics) → tanh → linear, in float64."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 5), nn.BatchNorm1d(5), nn.Tanh(), nn.Linear(5, 2)).double().train()
    with torch.no_grad():
        model[1].running_mean.copy_(torch.randn(5, dtype=D))
        model[1].running_var.copy_(torch.rand(5, dtype=D) + 0.5)
        model[1].weight.copy_(torch.rand(5, dtype=D) + 0.5)
    gen = torch.Generator().manual_seed(1)
    return model, torch.randn(12, 3, generator=gen, dtype=D), torch.randint(0, 2, (12,), generator=gen)


def gradient_difference(loss_fn, params, v, h: float = 1e-5) -> torch.Tensor:
    """H v by a central difference of gradients: independent of the double-backward formulas."""
    f, theta = flat_function(loss_fn, params)

    def gradient(t):
        t = t.clone().requires_grad_(True)
        return torch.autograd.grad(f(t), t)[0]

    return (gradient(theta + h * flat(v)) - gradient(theta - h * flat(v))) / (2 * h)


def mode_hessian(model: nn.Module, x, y, train_mode: bool) -> torch.Tensor:
    """The exact Hessian of the cross-entropy in one BN mode, written out independently of helpers."""
    model = copy.deepcopy(model).train(train_mode)
    names = [n for n, _ in model.named_parameters()]

    def loss(ps):
        buffers = {n: b.clone() for n, b in model.named_buffers()}
        return F.cross_entropy(torch.func.functional_call(model, (dict(zip(names, ps)), buffers), (x,)), y)

    return explicit_hessian(loss, [p.detach() for p in model.parameters()])


@pytest.mark.parametrize("method", HVP_METHODS)
def test_with_bn_in_training_mode_hvp_is_the_training_loss_hessian_and_running_stats_stay(method):
    model, x, y = bn_net_and_batch()
    state = copy.deepcopy(model.state_dict())
    loss, params = model_loss(model, x, y, F.cross_entropy)
    v = [torch.randn_like(p) for p in params]
    got = flat(HessianOperator(loss, params, method)(v))
    train_hv, eval_hv = (mode_hessian(model, x, y, mode) @ flat(v) for mode in (True, False))
    scale = torch.linalg.vector_norm(train_hv)
    assert torch.linalg.vector_norm(got - train_hv) <= 1e-10 * scale
    # A central difference with h = 1e-5 is off by h²·‖∇³L‖ ≈ 1e-10 (truncation) plus u₆₄·‖∇L‖/h ≈ 1e-11
    # (rounding), relative: within 1e-7, independently of BN's double-backward formulas.
    assert torch.linalg.vector_norm(got - gradient_difference(loss, params, v)) <= 1e-7 * scale
    assert torch.linalg.vector_norm(got - eval_hv) > 0.1 * scale  # what a tool calling model.eval() measures
    assert model.training
    assert all(torch.equal(state[k], v) for k, v in model.state_dict().items())  # num_batches_tracked too
    model(x)  # a plain training-mode forward does move them: the check above can fail
    assert not torch.equal(state["1.running_mean"], model[1].running_mean)


@pytest.mark.parametrize("norm", ["none", "batch"])
def test_lanczos_and_power_iteration_find_lambda_max_of_a_small_deep_linear_network(norm):
    torch.manual_seed(0)
    model = DeepLinearNet(depth=3, width=5, in_dim=5, out_dim=5, norm=norm).double()
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(40, 5, generator=gen, dtype=D)
    y = x @ torch.randn(5, 5, generator=gen, dtype=D).T
    loss, params = model_loss(model, x, y, lambda out, target: (out - target).pow(2).sum(-1).mean())
    eigenvalues = torch.linalg.eigvalsh(explicit_hessian(loss, params)).tolist()
    top, largest = eigenvalues[-1], max(eigenvalues, key=abs)
    # float64, so the stopping rules decide the accuracy: Lanczos stops at a relative change of 1e-10; power
    # iteration at 1e-8, and its Rayleigh quotient errs by about the square of its vector's error
    fast = top_hessian_eigenvalue(loss, params, iterations=40, tol=1e-10)
    assert fast.value == pytest.approx(top, rel=1e-10) and fast.converged and fast.hvps <= 40
    slow = top_hessian_eigenvalue(loss, params, method="power", iterations=3000, tol=1e-8)
    assert slow.value == pytest.approx(largest, rel=1e-9) and slow.converged and slow.hvps > fast.hvps
    # Power iteration finds the largest |λ|: λ_max without BN here; with BN at this point λ_min < −λ_max.
    assert (largest == top) == (norm == "none")
    again = top_hessian_eigenvalue(loss, params, iterations=40, tol=1e-10)
    assert again.value == fast.value and again.hvps == fast.hvps  # fixed-seed start: reproducible


def test_lanczos_stops_when_its_krylov_space_closes_and_is_then_exact():
    a = torch.diag(torch.tensor([1.0, 2.0, 5.0], dtype=D))
    estimate = lanczos(lambda v: a @ v, torch.ones(3, dtype=D), iterations=10, tol=0)
    assert estimate.hvps == 3 and estimate.value == pytest.approx(5.0, rel=1e-12) and estimate.converged


def test_gradient_descent_on_a_quadratic_diverges_exactly_beyond_two_over_lambda_max():
    gen = torch.Generator().manual_seed(0)
    q, _ = torch.linalg.qr(torch.randn(6, 6, generator=gen, dtype=D))
    a = q @ torch.diag(torch.linspace(0.5, 3.0, 6, dtype=D)) @ q.T
    estimate = top_hessian_eigenvalue(lambda ps: 0.5 * ps[0] @ a @ ps[0], [torch.zeros(6, dtype=D)], tol=1e-12)
    assert estimate.value == pytest.approx(3.0, rel=1e-10)
    assert power_iteration(lambda v: a @ v, torch.ones(6, dtype=D), 500, 1e-9).value == pytest.approx(3.0, rel=1e-9)
    x0 = torch.randn(6, generator=gen, dtype=D)
    for factor, ends in ((0.99, "converges"), (1.01, "diverges")):
        lr, x = factor * 2 / estimate.value, x0.clone()
        for _ in range(2000):
            x = x - lr * (a @ x)
        ratio = float(torch.linalg.vector_norm(x) / torch.linalg.vector_norm(x0))
        assert (ratio < 1e-6) if ends == "converges" else (ratio > 1e6), (factor, ratio)


def test_sharpness_probe_leaves_training_unchanged_and_measures_at_the_steps_point(cifar_dir):
    config = small(norm="batch")
    plain = train(config, cache=False, progress=False)
    probed = train(config, probes=[SharpnessProbe(every=4, iterations=5)], progress=False)
    assert same_history(plain, probed)
    records = probed.probes["sharpness"]
    cached = train(config, probes=[SharpnessProbe(every=4, iterations=5)], progress=False)
    assert cached.from_cache and all(np.array_equal(cached.probes["sharpness"][k], v) for k, v in records.items())
    assert records["step"].tolist() == [0, 4, 8]
    assert np.all(np.isfinite(records["lambda_max"])) and np.all(records["lambda_max"] > 0)
    assert np.all((1 <= records["hvps"]) & (records["hvps"] <= 5)) and records["converged"].dtype == bool
    assert records.settings == {"every": 4, "iterations": 5, "method": "lanczos", "hvp": "double_backward",
                                "tol": 1e-3, "seed": 0, "lr": config.lr}
    # Step 0 again by hand: the initial weights (channels-last, as train() holds them), the first batch,
    # BN in training mode. The same operations on the same inputs in one process: exact.
    model = build_model(config.model, config.norm, config.width, seed=config.seed)
    model = model.to(memory_format=torch.channels_last)
    task = make_task(config, torch.device("cpu"))
    x, y = next(BatchSampler(task.train, config.batch_size, seed=config.seed))
    loss, params = model_loss(model, x, y, task.loss)
    estimate = top_hessian_eigenvalue(loss, params, iterations=5)
    assert records["lambda_max"][0] == estimate.value and records["hvps"][0] == estimate.hvps
    assert records["weight_norm"][0] == _norm(params)
    # and that norm is ‖w‖: a float32 norm of n numbers is within γₙ₊₂ of the exact one
    exact = float(flat(params).double().norm())
    assert abs(records["weight_norm"][0] - exact) <= gamma(sum(p.numel() for p in params) + 2) * exact


def test_sharpness_probe_replays_a_noisy_layers_draws_and_leaves_them_to_training(cifar_dir):
    config = small(norm="noisy_batch", steps=6)
    plain = train(config, cache=False, progress=False)
    probe = SharpnessProbe(every=3, iterations=3, method="power", hvp="forward_over_reverse")
    assert same_history(plain, train(config, probes=[probe], cache=False, progress=False))


def test_sharpness_probe_gives_each_ensemble_member_its_single_runs_eigenvalue():
    torch.manual_seed(0)
    nets = [DeepLinearNet(depth=3, width=5, in_dim=5, out_dim=5, norm="batch").double() for _ in range(2)]
    gen = torch.Generator().manual_seed(0)
    xs = [torch.randn(32, 5, generator=gen, dtype=D) for _ in nets]
    ys = [x @ torch.randn(5, 5, generator=gen, dtype=D).T for x in xs]
    settings = dict(lr=0.01, steps=4, batch_size=32, eval_every=4, progress=False)
    probes = lambda: [SharpnessProbe(every=2, iterations=25, tol=0)]
    singles = [fit(copy.deepcopy(net), Task(TensorData(x, y), TensorData(x, y), regression=True), probes=probes(),
                   **settings) for net, x, y in zip(nets, xs, ys)]
    stacked = TensorData(torch.stack(xs, 1), torch.stack(ys, 1))
    ensemble = DeepLinearEnsemble(nets).double()  # its stacked BN layers are built in float32
    members = fit(ensemble, Task(stacked, stacked, regression=True), probes=probes(), **settings)
    for single, member in zip(singles, members):  # the same maths two ways, in float64
        got, expected = member.probes["sharpness"], single.probes["sharpness"]
        assert got["step"].tolist() == expected["step"].tolist() == [0, 2]
        np.testing.assert_allclose(got["lambda_max"], expected["lambda_max"], rtol=1e-8)
        np.testing.assert_allclose(got["weight_norm"], expected["weight_norm"], rtol=1e-10)
        assert got["hvps"].tolist() == expected["hvps"].tolist() == [25, 25]


def test_bad_input_gets_a_clear_error():
    loss, params, v = tiny_mlp_loss()
    with pytest.raises(ValueError, match="iterations must be a positive integer"):
        SharpnessProbe(every=1, iterations=0)
    with pytest.raises(ValueError, match="iterations must be a positive integer"):
        top_hessian_eigenvalue(loss, params, iterations=2.5)
    with pytest.raises(ValueError, match="unknown eigenvalue method 'qr'; choose one of: lanczos, power"):
        SharpnessProbe(every=1, method="qr")
    with pytest.raises(ValueError, match="unknown HVP method 'finite_differences'"):
        hvp(loss, params, v, method="finite_differences")
    with pytest.raises(ValueError, match="tol must be a finite number"):
        lanczos(lambda u: u, torch.ones(3), tol=-1)
    with pytest.raises(ValueError, match="every must be a positive integer"):
        SharpnessProbe(every=0)
    with pytest.raises(ValueError, match="shaped like the parameters"):
        hvp(loss, params, v[:2])
    with pytest.raises(ValueError, match="non-zero"):
        power_iteration(lambda u: u, torch.zeros(3))
    with pytest.raises(ValueError, match="at least one parameter"):
        HessianOperator(loss, [])
    with pytest.raises(ValueError, match="members=3 does not divide"):
        top_hessian_eigenvalue(loss, params, members=3)
