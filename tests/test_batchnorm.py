import numpy as np
import pytest
import torch
from torch import nn

from helpers.batchnorm import ScratchBatchNorm, batchnorm_backward, batchnorm_forward
from helpers.batchnorm_checks import batch_statistics_spread

from .tolerances import FLOAT64_RTOL


@pytest.mark.parametrize("shape, torch_bn", [((32, 6), nn.BatchNorm1d), ((8, 6, 5, 5), nn.BatchNorm2d)])
def test_scratch_layer_matches_pytorch_in_training_and_evaluation(shape, torch_bn):
    # The same maths two ways (our mean and variance, PyTorch's kernels), so in float64; the values are
    # of order 1 to 10, whose float64 rounding is about 1e-15.
    torch.manual_seed(0)
    ours, theirs = ScratchBatchNorm(6).double(), torch_bn(6).double()
    with torch.no_grad():
        for layer in (ours, theirs):
            layer.weight.uniform_(0.5, 1.5)
            layer.bias.uniform_(-1, 1)
        theirs.load_state_dict(ours.state_dict())
    same = dict(rtol=FLOAT64_RTOL, atol=FLOAT64_RTOL)
    for _ in range(3):  # training: outputs and running statistics
        x = torch.randn(shape, dtype=torch.float64) * 3 + 2
        torch.testing.assert_close(ours(x), theirs(x), **same)
    for name in ("running_mean", "running_var"):
        torch.testing.assert_close(getattr(ours, name), getattr(theirs, name), **same)
    assert torch.equal(ours.num_batches_tracked, theirs.num_batches_tracked)
    ours.eval(), theirs.eval()
    x = torch.randn(shape, dtype=torch.float64)
    torch.testing.assert_close(ours(x), theirs(x), **same)


@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("shape", [(10, 3), (4, 3, 2, 2)])
def test_hand_written_backward_passes_gradcheck(shape, training):
    torch.manual_seed(0)
    layer = ScratchBatchNorm(3).double().train(training)
    x = torch.randn(shape, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda x, w, b: layer(x), (x, layer.weight, layer.bias))


def test_backward_is_the_projection_off_one_and_x_hat():
    torch.manual_seed(0)
    x, g = torch.randn(20, 1, dtype=torch.float64), torch.randn(20, 1, dtype=torch.float64)
    gamma, beta = torch.ones(1, dtype=torch.float64), torch.zeros(1, dtype=torch.float64)
    _, cache = batchnorm_forward(x, gamma, beta, torch.zeros(1, dtype=torch.float64),
                                 torch.ones(1, dtype=torch.float64), eps=0.0)
    dx, _, _ = batchnorm_backward(g, cache)
    x_hat = cache[0][:, 0]
    # orthogonal to 1 and x̂: exactly in exact arithmetic; in float64 sums of 20 terms of order 1 round
    # by about 1e-15
    assert abs(float(dx[:, 0].sum())) < 1e-10 and abs(float(dx[:, 0] @ x_hat)) < 1e-10


def test_batch_statistics_scatter_like_one_over_root_m():
    values = np.random.default_rng(0).normal(size=20_000)
    spread = batch_statistics_spread(values, [4, 16, 64, 256], trials=400)
    slope = np.polyfit(np.log(spread["batch_size"]), np.log(spread["mean_sd"]), 1)[0]
    # statistical: a standard deviation estimated from 400 trials is within about 1/√800 = 3.5 % of
    # the true one, so 15 % is four standard errors (and the slope's error is smaller still)
    assert -0.6 < slope < -0.4
    np.testing.assert_allclose(spread["mean_sd"], 1 / np.sqrt(spread["batch_size"]), rtol=0.15)
