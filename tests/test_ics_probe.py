import numpy as np
import pytest
import torch

from helpers.data import TensorData
from helpers.models import DeepLinearNet
from helpers.probes import GradientICSProbe
from helpers.runs import History
from helpers.train import Task, fit, train

from .test_train import fit_in_float64, small
from .tolerances import FLOAT64_RTOL


def test_matches_a_hand_computation_on_a_tiny_linear_network():
    torch.manual_seed(0)
    net = DeepLinearNet(depth=3, width=4, in_dim=3, out_dim=2).double()
    x, t = torch.randn(20, 3, dtype=torch.float64), torch.randn(20, 2, dtype=torch.float64)
    w1, w2, w3 = (net.layer(i).weight.detach().numpy().copy() for i in (1, 2, 3))
    X, T, lr = x.numpy(), t.numpy(), 0.01
    task = Task(TensorData(x, t), TensorData(x, t), regression=True)
    h = fit(net, task, lr=lr, steps=1, batch_size=20, probes=[GradientICSProbe([2, 3], every=1)],
            progress=False)

    def grads(a, b, c):  # loss mean over samples of ‖x Aᵀ Bᵀ Cᵀ − t‖²: gradients for A, B, C
        h1, h2 = X @ a.T, X @ a.T @ b.T
        dy = 2 * (h2 @ c.T - T) / len(X)
        return (dy @ c @ b).T @ X, (dy @ c).T @ h1, dy.T @ h2

    g1, g2, g3 = grads(w1, w2, w3)
    w1n, w2n = w1 - lr * g1, w2 - lr * g2
    g2p = grads(w1n, w2, w3)[1]  # layer 2 after layer 1 has stepped
    g3p = grads(w1n, w2n, w3)[2]  # layer 3 after layers 1 and 2 have stepped
    rec = h.probes["ics"]
    for k, (g, gp) in enumerate(((g2, g2p), (g3, g3p))):
        np.testing.assert_allclose(rec["grad_diff"][0, k], np.linalg.norm(g - gp), rtol=1e-10)
        cos = (g * gp).sum() / np.linalg.norm(g) / np.linalg.norm(gp)
        np.testing.assert_allclose(rec["cosine"][0, k], cos, rtol=1e-10)
    assert rec["grad_diff"][0].min() > 0  # the earlier layers' steps did change the gradient


@pytest.mark.parametrize("norm, momentum", [("none", 0.0), ("batch", 0.9), ("noisy_batch", 0.0)])
def test_probe_leaves_training_exactly_as_it_was(cifar_dir, norm, momentum):
    config = small(norm=norm, momentum=momentum, steps=7)
    plain = train(config, cache=False, progress=False)
    probed = train(config, probes=[GradientICSProbe([1, 4, 9], every=3)], cache=False, progress=False)
    assert all(np.array_equal(getattr(plain, k), getattr(probed, k)) for k in History.ARRAYS)
    assert probed.probes["ics"]["grad_diff"].shape == (3, 3)


def test_probe_leaves_every_parameter_and_buffer_bit_for_bit(cifar_dir):
    from helpers import build_model
    from helpers.train import make_task

    config = small(norm="batch")
    task = make_task(config, torch.device("cpu"))
    states = []
    for probes in ((), (GradientICSProbe([2, 5], every=1),)):
        model = build_model("vgg11", "batch", 0.125, seed=0)
        fit(model, task, lr=0.05, steps=3, batch_size=32, probes=probes, progress=False)
        states.append(model.state_dict())
    assert states[0].keys() == states[1].keys()
    assert all(torch.equal(states[0][k], states[1][k]) for k in states[0])


@pytest.mark.parametrize("norm", ["batch", "noisy_batch"])
def test_without_an_update_g_prime_is_g(cifar_dir, norm):
    # A negligible step: G′ must equal G, which needs the same batch statistics and the same noise. The
    # training pass and the probe compute G two ways (the model's backward; autograd.grad through
    # functional_call on copies), so in float64: 1 − cos∠(G, G′) is then second order in the step,
    # (lr·β)² ≈ 1e-19, plus rounding of order 1e-15; other statistics or noise give 1e-2 or more.
    h = fit_in_float64(small(norm=norm, lr=1e-12, steps=2), probes=[GradientICSProbe([3, 9], every=1)])
    np.testing.assert_allclose(h.probes["ics"]["cosine"], 1.0, atol=FLOAT64_RTOL)


def test_bad_ics_probe_arguments():
    with pytest.raises(ValueError, match="at least one layer"):
        GradientICSProbe([], every=1)
