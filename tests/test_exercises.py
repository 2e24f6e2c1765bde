from functools import partial

import numpy as np
import pytest
import torch

from helpers.batchnorm import batchnorm_backward, batchnorm_forward
from helpers.exercises import (
    check_batchnorm_backward,
    check_batchnorm_forward,
    check_distribution_drift,
    check_effective_beta,
    check_g_prime,
    check_largest_trainable_lr,
    check_lp_norm_forward,
    check_power_iteration,
)


def _axes(x):
    return ((0,), (1, -1)) if x.dim() == 2 else ((0, 2, 3), (1, -1, 1, 1))


def forward_variant(unbiased=False, eps_on=True, axes_fn=None, update_running=True, biased_running=False):
    """The reference forward with one typical mistake switched on."""

    def forward(x, gamma, beta, running_mean, running_var, *, training=True, momentum=0.1, eps=1e-5):
        axes, shape = _axes(x)
        if axes_fn:
            axes = axes_fn(x)
        if training:
            mean = x.mean(axes, keepdim=True)
            var = x.var(axes, unbiased=unbiased, keepdim=True)
            if update_running:
                m = x.numel() // x.shape[1]
                running_mean.mul_(1 - momentum).add_(momentum * x.mean(_axes(x)[0]))
                v = x.var(_axes(x)[0], unbiased=False)
                running_var.mul_(1 - momentum).add_(momentum * (v if biased_running else v * m / (m - 1)))
        else:
            mean, var = running_mean.view(shape), running_var.view(shape)
        x_hat = (x - mean) / torch.sqrt(var + (eps if eps_on else 0.0))
        return gamma.view(shape) * x_hat + beta.view(shape), None

    return forward


def test_reference_implementation_passes_both_checks():
    assert check_batchnorm_forward(batchnorm_forward).passed
    assert check_batchnorm_backward(batchnorm_forward, batchnorm_backward).passed


def test_unfinished_exercises_say_not_implemented_without_raising():
    def todo(*args, **kwargs):
        raise NotImplementedError

    forward = check_batchnorm_forward(todo)
    assert forward.not_implemented and not forward.passed and "not implemented yet" in str(forward)
    backward = check_batchnorm_backward(batchnorm_forward, todo)
    assert backward.not_implemented and "not implemented yet" in str(backward)
    assert "forward is not implemented" in str(check_batchnorm_backward(todo, todo))


def test_unbiased_variance_is_named():
    assert "unbiased variance" in str(check_batchnorm_forward(forward_variant(unbiased=True)))


def test_missing_eps_is_named():
    assert "leaves out ε" in str(check_batchnorm_forward(forward_variant(eps_on=False)))


def test_wrong_axes_are_named():
    report = str(check_batchnorm_forward(forward_variant(axes_fn=lambda x: (0,))))
    assert "wrong axes" in report and "(0, 2, 3)" in report


def test_running_statistics_not_updated_is_named():
    assert "running statistics not updated" in str(check_batchnorm_forward(forward_variant(update_running=False)))


def test_running_variance_with_the_biased_estimate_is_named():
    assert "biased batch variance" in str(check_batchnorm_forward(forward_variant(biased_running=True)))


def test_batch_statistics_in_evaluation_are_named():
    def forward(x, gamma, beta, running_mean, running_var, *, training=True, momentum=0.1, eps=1e-5):
        return batchnorm_forward(x, gamma, beta, running_mean, running_var, training=True,
                                 momentum=momentum if training else 0.0, eps=eps)

    assert "batch statistics in evaluation mode" in str(check_batchnorm_forward(forward))


def test_wrong_backward_names_the_gradient_and_its_error():
    def constant_stats_backward(dout, cache):
        x_hat, gamma, inv_std, _ = cache
        axes, shape = _axes(dout)
        return dout * (gamma * inv_std).view(shape), (dout * x_hat).sum(axes), dout.sum(axes)

    report = str(check_batchnorm_backward(batchnorm_forward, constant_stats_backward))
    assert "dx is wrong" in report and "treats the batch mean and variance as constants" in report
    assert "dgamma" not in report and "dbeta" not in report

    def wrong_dgamma(dout, cache):
        dx, dgamma, dbeta = batchnorm_backward(dout, cache)
        return dx, dgamma * 2, dbeta

    assert "dgamma is wrong (largest relative error 1" in str(check_batchnorm_backward(batchnorm_forward, wrong_dgamma))


def test_wrong_shape_and_exceptions_are_reported_not_raised():
    def flat(x, *args, **kwargs):
        return x.flatten(), None

    assert "wrong output shape" in str(check_batchnorm_forward(flat))

    def broken(*args, **kwargs):
        raise TypeError("oops")

    assert "raised TypeError: oops" in str(check_batchnorm_forward(broken))


def lp_forward_variant(center_first=False, average=True, eps_on=True, per_channel=True, subtract_mean=True):
    """A student's ℓp forward pass with one typical mistake switched on."""

    def forward(y, gamma, beta, p, eps):
        dims = (0, *range(2, y.dim())) if per_channel else tuple(range(y.dim()))
        shape = (1, -1) + (1,) * (y.dim() - 2)
        mu = y.mean(dims, keepdim=True)
        u = (y - mu) if center_first else y
        s = torch.linalg.vector_norm(u, p, dims, keepdim=True)
        if average and p != float("inf"):
            s = s / (u.numel() / (y.shape[1] if per_channel else 1)) ** (1 / p)
        out = (y - mu if subtract_mean else y) / (s + (eps if eps_on else 0.0))
        return gamma.view(shape) * out + beta.view(shape)

    return forward


def test_lp_reference_passes_and_an_unfinished_one_says_not_implemented():
    assert check_lp_norm_forward(lp_forward_variant()).passed

    def todo(y, gamma, beta, p, eps):
        raise NotImplementedError

    report = check_lp_norm_forward(todo)
    assert report.not_implemented and not report.passed and "not implemented yet" in str(report)


@pytest.mark.parametrize("mistake, named", [
    (dict(center_first=True), "after subtracting the mean"),
    (dict(average=False), "not its average"),
    (dict(eps_on=False), "leaves out ε"),
    (dict(per_channel=False), "one per channel"),
    (dict(subtract_mean=False), "does not subtract the mean"),
])
def test_lp_mistakes_are_named(mistake, named):
    report = check_lp_norm_forward(lp_forward_variant(**mistake))
    assert not report.passed and any(named in problem for problem in report.problems), report.problems


# --- notebook 07 --------------------------------------------------------------------------------

from helpers.exercises import check_bn_unit_backward, check_counterexample, check_gradient_at_scale  # noqa: E402
from helpers.theory import bn_unit_backward, gradient_case  # noqa: E402


def _todo(*args):
    raise NotImplementedError


def test_theory_references_pass_and_unfinished_ones_say_not_implemented():
    assert check_bn_unit_backward(bn_unit_backward).passed
    assert check_counterexample(lambda: (*gradient_case(8, 0.5, 0.1), 1.0)).passed
    assert check_gradient_at_scale(lambda grad, w, c: grad / c).passed
    for check in (check_bn_unit_backward, check_counterexample, check_gradient_at_scale):
        report = check(_todo)
        assert report.not_implemented and str(report).endswith("not implemented yet.")


def _sd(y):
    return y.std(unbiased=False)


@pytest.mark.parametrize("wrong, named", [
    (lambda y, g, gamma: gamma / _sd(y) * g, "treats μ and σ as constants"),
    (lambda y, g, gamma: gamma / _sd(y) * (g - g.mean()), "component along ŷ"),
    (lambda y, g, gamma: bn_unit_backward(y, g, 1.0), "leaves out γ"),
    (lambda y, g, gamma: _sd(y) * bn_unit_backward(y, g, gamma), "leaves out the 1/σ"),
    (lambda y, g, gamma: g[:2], "wrong output shape"),
    (lambda y, g, gamma: gamma / y.std() * (g - g.mean() - (y - y.mean()) / y.std() * (g @ ((y - y.mean()) / y.std()))
                                            / len(y)), "uses the unbiased standard deviation"),
    (lambda y, g, gamma: torch.func.vjp(lambda v: gamma * (v - v.mean()) / v.std(), y)[1](g)[0],
     "differentiates a forward pass with the unbiased"),
    (lambda y, g, gamma: gamma / y.std(unbiased=False) * (g - g.mean() - (y - y.mean()) / y.std(unbiased=False) * (
        g @ ((y - y.mean()) / y.std(unbiased=False))) / len(y) ** 0.5), "divides ⟨g, ŷ⟩ by √m"),
])
def test_bn_unit_backward_mistakes_are_named(wrong, named):
    report = check_bn_unit_backward(wrong)
    assert not report.passed and any(named in p for p in report.problems), report.problems


def test_float32_answers_and_odd_inputs_are_judged_not_crashed_on():
    assert check_bn_unit_backward(lambda y, g, gamma: bn_unit_backward(y, g, gamma).float()).passed
    assert check_gradient_at_scale(lambda grad, w, c: (grad / c).float()).passed
    report = check_counterexample(lambda: (*gradient_case(8, 0.5, 0.1), torch.ones(2)))
    assert "gamma must be one number" in report.problems[0]
    y, g = gradient_case(8, 0.5, 0.1)
    assert check_counterexample(lambda: (1e-6 * y, g, 1.0)).passed  # a narrow batch is still a counterexample


def test_a_case_without_a_part_along_y_hat_is_not_a_counterexample():
    report = check_counterexample(lambda: (*gradient_case(8, 0.0, 0.3), 1.0))
    assert not report.passed and "⟨g, ŷ⟩ = 0" in report.problems[0]
    report = check_counterexample(lambda: (torch.ones(4), torch.ones(4), 1.0))
    assert "at least 2 different values" in report.problems[0]
    assert "triple" in check_counterexample(lambda: 3).problems[0]


@pytest.mark.parametrize("wrong, named", [(lambda g, w, c: g * c, "shrinks"), (lambda g, w, c: g, "unchanged"),
                                          (lambda g, w, c: g / c ** 2, "divides by c²")])
def test_gradient_at_scale_mistakes_are_named(wrong, named):
    report = check_gradient_at_scale(wrong)
    assert not report.passed and named in report.problems[0]


# --- notebooks 02–05 ---------------------------------------------------------------------------------

def _largest_lr(lrs, final_loss, threshold, nan_trains=False, pooled=False):
    ok = ~(final_loss >= threshold) if nan_trains else final_loss < threshold
    if pooled:
        return np.full(ok.shape[1], lrs[ok.any(1)].max())
    return np.array([lrs[c].max() if c.any() else np.nan for c in ok.T])


def _drift(mean, var, relative=True, net=False):
    std = np.sqrt(var)
    change = np.abs(mean[-1] - mean[0]) + np.abs(std[-1] - std[0]) if net else \
        (np.abs(np.diff(mean, axis=0)) + np.abs(np.diff(std, axis=0))).mean(0)
    return change / std.mean(0) if relative else change


def _g_prime(before, after, i, loss, moved=lambda after, before, i: [*after[:i], *before[i:]]):
    ws = [w.detach().requires_grad_(k == i) for k, w in enumerate(moved(after, before, i))]
    return torch.autograd.grad(loss(ws), ws[i])[0]


def _beta(grad_fn, w, etas, per_length=True, sign=1.0):
    g = grad_fn(w)
    return max(float((g - grad_fn(w - sign * e * g)).norm() / (e * g.norm() if per_length else e)) for e in etas)


def _todo(*args):
    raise NotImplementedError


CHECKS_02_05 = {
    check_largest_trainable_lr: _largest_lr, check_distribution_drift: _drift, check_g_prime: _g_prime,
    check_effective_beta: _beta,
}


@pytest.mark.parametrize("check", CHECKS_02_05, ids=lambda c: c.__name__)
def test_notebook_02_to_05_references_pass_and_stubs_say_not_implemented(check):
    assert check(CHECKS_02_05[check]).passed
    report = check(_todo)
    assert report.not_implemented and "not implemented yet" in str(report)


@pytest.mark.parametrize("check, wrong, named", [
    (check_largest_trainable_lr, partial(_largest_lr, nan_trains=True), "counts a run without a number"),
    (check_largest_trainable_lr, partial(_largest_lr, pooled=True), "pools the seeds"),
    (check_distribution_drift, partial(_drift, relative=False), "not divided by the unit's average standard"),
    (check_distribution_drift, partial(_drift, net=True), "net change"),
    (check_g_prime, partial(_g_prime, moved=lambda a, b, i: b), "returns G, the gradient before"),
    (check_g_prime, partial(_g_prime, moved=lambda a, b, i: [*a[:i + 1], *b[i + 1:]]), "moves layer i itself"),
    (check_effective_beta, partial(_beta, per_length=False), "divides by η, not by the step's length"),
    (check_effective_beta, partial(_beta, sign=-1.0), "steps uphill"),
])
def test_notebook_02_to_05_mistakes_are_named(check, wrong, named):
    report = check(wrong)  # named in at least one case (in others two mistakes can coincide), never unnamed
    assert not report.passed and any(named in p for p in report.problems), report
    assert not any("differs from" in p for p in report.problems), report


def test_answers_as_lists_or_floats_are_judged_and_a_wrong_length_is_reported():
    as_list = lambda *a: _largest_lr(*a).tolist()
    assert check_largest_trainable_lr(as_list).passed
    short = check_largest_trainable_lr(lambda *a: _largest_lr(*a)[:2])
    assert any("wrong output shape" in p for p in short.problems), short


# --- notebook 08: power iteration ------------------------------------------------------------------

def _power(matvec, v0, iterations, quotient=True, extra=0):
    v = v0 / v0.norm()
    for _ in range(iterations + extra):
        w = matvec(v)
        estimate = v @ w if quotient else w.norm()
        v = w / w.norm()
    return float(estimate)


def test_power_iteration_reference_passes_and_a_stub_says_not_implemented():
    assert check_power_iteration(_power).passed
    assert check_power_iteration(_todo).not_implemented


@pytest.mark.parametrize("wrong, named", [
    (partial(_power, quotient=False), "returns ‖H v‖"),
    (partial(_power, extra=1), "one product too many"),
    (partial(_power, extra=-1), "one product too few"),
])
def test_power_iteration_mistakes_are_named(wrong, named):
    report = check_power_iteration(wrong)
    assert not report.passed and any(named in p for p in report.problems), report
    assert not any("differs from" in p for p in report.problems), report


def test_power_iteration_checker_catches_a_solver_that_returns_lambda_max_instead():
    # On the matrix whose largest-magnitude eigenvalue is −6, power iteration does not find λ_max = 5.
    def exact_top(matvec, v0, iterations):
        h = torch.stack([matvec(e) for e in torch.eye(len(v0), dtype=v0.dtype)])
        return float(torch.linalg.eigvalsh(h)[-1])

    report = check_power_iteration(exact_top)
    assert not report.passed and any("negative" in p for p in report.problems), report


# --- notebook 09: the verdict rule -------------------------------------------------------------------

from helpers.exercises import check_verdict  # noqa: E402
from helpers.verdicts import verdict  # noqa: E402


def _score(counts, score, mostly_from_half=False):
    share = sum(score(k, n) for k, n in counts) / len(counts)
    mostly = share >= 0.5 if mostly_from_half else share > 0.5
    return "reproduced" if share == 1 else "mostly" if mostly else "partly" if share > 0 else "not reproduced"


def _standing(k, n):
    return 1.0 if k == n else 0.0 if 2 * k <= n else 0.5


def _pooled(counts):
    return verdict([(sum(k for k, _ in counts), sum(n for _, n in counts))])


def _rates(counts):
    return _score(counts, lambda k, n: k / n)


def _half_is_mixed(counts):
    return _score(counts, lambda k, n: 1.0 if k == n else 0.0 if 2 * k < n else 0.5)


def _most_is_enough(counts):
    return _score(counts, lambda k, n: 1.0 if 2 * k > n else 0.0)


def _mixed_fails(counts):
    return _score(counts, lambda k, n: 1.0 if k == n else 0.0)


def _mostly_from_half(counts):
    return _score(counts, _standing, mostly_from_half=True)


def test_verdict_reference_passes_and_a_stub_says_not_implemented():
    assert check_verdict(verdict).passed
    assert check_verdict(_todo).not_implemented


@pytest.mark.parametrize("wrong, named", [
    (_pooled, "pools the checks' seeds"),
    (_rates, "averages the per-seed pass rates"),
    (_half_is_mixed, "half is not more than half"),
    (_most_is_enough, "it must hold in every seed"),
    (_mixed_fails, "counts a mixed check as failing"),
    (_mostly_from_half, "mostly is more than half"),
])
def test_verdict_mistakes_are_named(wrong, named):
    report = check_verdict(wrong)
    assert not report.passed and len(report.problems) == 1 and named in report.problems[0], report


def test_verdict_checker_reports_an_unrecognised_answer_and_an_error():
    report = check_verdict(lambda counts: "yes")
    assert not report.passed and "the rule gives 'reproduced'" in report.problems[0], report
    report = check_verdict(lambda counts: counts[1])
    assert not report.passed and any("raised IndexError" in p for p in report.problems), report
