"""Tests for grading.loss: class weights (eq. 2's alpha) and the weighted, masked cross entropy."""

from __future__ import annotations

import logging
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from grading.errors import GradingError
from grading.loss import class_weights, weighted_cross_entropy

TASKS = ("scs", "rfs", "lfs")


def test_hand_computed_value() -> None:
    # one task, two classes, two discs: logits (0, 0) -> P = 1/2 and (ln 3, 0) -> P = (3/4, 1/4)
    logits = {"scs": torch.tensor([[0.0, 0.0], [math.log(3.0), 0.0]])}
    targets = torch.tensor([[1], [0]])
    weights = torch.tensor([[2.0, 0.5]])
    loss = weighted_cross_entropy(logits, targets, weights, ("scs",))
    expected = (0.5 * -math.log(0.5) + 2.0 * -math.log(0.75)) / 2
    assert loss.item() == pytest.approx(expected, rel=1e-6)


def test_sums_over_tasks_and_averages_over_discs() -> None:
    g = torch.Generator().manual_seed(0)
    logits = {t: torch.randn(5, 4, generator=g) for t in TASKS}
    targets = torch.randint(0, 4, (5, 3), generator=g)
    weights = torch.rand(3, 4, generator=g) + 0.5
    loss = weighted_cross_entropy(logits, targets, weights, TASKS)
    # eq. 2 written out (- sum_n sum_t sum_j alpha_tj y_ntj log P_ntj), divided by N (the default task_mean)
    expected = 0.0
    for i, t in enumerate(TASKS):
        log_p = logits[t].log_softmax(1)
        onehot = F.one_hot(targets[:, i], 4).float()
        expected += -(weights[i] * onehot * log_p).sum().item()
    assert loss.item() == pytest.approx(expected / 5, rel=1e-5)


def test_agrees_with_torch_cross_entropy_where_it_should() -> None:
    g = torch.Generator().manual_seed(1)
    logits = {t: torch.randn(6, 4, generator=g) for t in TASKS}
    targets = torch.tensor([[0, 1, -1], [1, -1, 2], [2, 3, 3], [3, 0, -1], [-1, 1, 0], [0, 2, -1]])
    ones = torch.ones(3, 4)
    # unit weights: identical to torch's mean over non-ignored targets
    torch_mean = sum(F.cross_entropy(logits[t], targets[:, i], ignore_index=-1) for i, t in enumerate(TASKS))
    torch.testing.assert_close(weighted_cross_entropy(logits, targets, ones, TASKS), torch_mean)
    # class weights: torch divides the weighted sum by the sum of the weights, eq. 2 by the number of discs
    weights = torch.tensor([[1.0, 2.0, 3.0, 4.0]] * 3)
    ours = weighted_cross_entropy(logits, targets, weights, TASKS)
    per_task_sum = [F.cross_entropy(logits[t], targets[:, i], weight=weights[i], ignore_index=-1, reduction="sum")
                    for i, t in enumerate(TASKS)]
    n_labelled = (targets != -1).sum(0)
    torch.testing.assert_close(ours, sum(s / n for s, n in zip(per_task_sum, n_labelled)))
    torch_weighted_mean = sum(F.cross_entropy(logits[t], targets[:, i], weight=weights[i], ignore_index=-1)
                              for i, t in enumerate(TASKS))
    assert not torch.isclose(ours, torch_weighted_mean)


def test_missing_labels_are_masked_out() -> None:
    g = torch.Generator().manual_seed(2)
    logits = {t: torch.randn(4, 4, generator=g, requires_grad=True) for t in TASKS}
    weights = torch.rand(3, 4, generator=g) + 0.5
    full = torch.tensor([[0, 1, 2], [1, 2, 3], [2, 3, 0], [3, 0, 1]])
    masked = full.clone()
    masked[3] = -1  # the last disc has no label at all
    loss = weighted_cross_entropy(logits, masked, weights, TASKS)
    first_three = weighted_cross_entropy({t: v[:3] for t, v in logits.items()}, full[:3], weights, TASKS)
    torch.testing.assert_close(loss, first_three)
    loss.backward()
    assert all(torch.all(v.grad[3] == 0) and v.grad[:3].abs().sum() > 0 for v in logits.values())
    # changing the logits of a masked disc changes nothing
    moved = {t: v.detach().clone() for t, v in logits.items()}
    moved["scs"][3] += 10
    torch.testing.assert_close(weighted_cross_entropy(moved, masked, weights, TASKS), loss.detach())


def test_task_without_labels_contributes_zero() -> None:
    g = torch.Generator().manual_seed(3)
    logits = {t: torch.randn(3, 4, generator=g, requires_grad=True) for t in TASKS}
    targets = torch.tensor([[0, -1, 1], [2, -1, 3], [1, -1, -1]])
    weights = torch.ones(3, 4)
    loss = weighted_cross_entropy(logits, targets, weights, TASKS)
    only_labelled = weighted_cross_entropy({"scs": logits["scs"], "lfs": logits["lfs"]}, targets[:, [0, 2]],
                                           weights[:2], ("scs", "lfs"))
    torch.testing.assert_close(loss, only_labelled)
    nothing = weighted_cross_entropy(logits, torch.full((3, 3), -1), weights, TASKS)
    assert nothing.item() == 0.0
    nothing.backward()  # still attached to the graph
    assert torch.isfinite(logits["rfs"].grad).all()


def test_class_weights_inverse_to_frequency() -> None:
    # task 0: 6 x grade 0, 2 x grade 1, 1 x grade 2, 1 x grade 3 (N = 10); task 1: balanced with one missing
    labels = np.array([[0, 0], [0, 1], [0, 2], [0, 3], [0, 0], [0, 1], [1, 2], [1, 3], [2, -1], [3, -1]])
    w = class_weights(labels)
    assert w.shape == (2, 4) and w.dtype == torch.float32
    torch.testing.assert_close(w[0], torch.tensor([10 / (4 * 6), 10 / (4 * 2), 10 / 4, 10 / 4]))
    torch.testing.assert_close(w[1], torch.ones(4))  # balanced -> 1, the missing labels are not counted
    # inverse proportionality: weight x count is the same for every class
    counts = torch.tensor([6.0, 2.0, 1.0, 1.0])
    assert torch.allclose(w[0] * counts, torch.full((4,), 2.5))
    torch.testing.assert_close(class_weights(torch.as_tensor(labels)), w)


def test_absent_classes_get_the_largest_present_weight(caplog: pytest.LogCaptureFixture) -> None:
    labels = np.array([[0, -1], [0, -1], [0, -1], [1, -1]])  # task 0: no grade 2 or 3; task 1: no label
    with caplog.at_level(logging.WARNING, logger="grading.loss"):
        w = class_weights(labels)
    assert torch.isfinite(w).all()
    torch.testing.assert_close(w[0], torch.tensor([4 / 12, 1.0, 1.0, 1.0]))
    torch.testing.assert_close(w[1], torch.ones(4))
    assert "absent" in caplog.text and "[2, 3]" in caplog.text and "no labels" in caplog.text
    logits = {"a": torch.randn(2, 4), "b": torch.randn(2, 4)}
    loss = weighted_cross_entropy(logits, torch.tensor([[3, -1], [2, -1]]), w, ("a", "b"))
    assert torch.isfinite(loss)


def test_bad_inputs_raise_coded_errors() -> None:
    with pytest.raises(GradingError) as err:
        class_weights(np.array([0, 1, 2]))
    assert err.value.code == "G110"
    with pytest.raises(GradingError) as err:
        class_weights(np.array([[0.5, 1.0]]))
    assert err.value.code == "G110"
    with pytest.raises(GradingError) as err:
        class_weights(np.array([[0, 4]]))
    assert err.value.code == "G111" and "4" in str(err.value)
    logits = {t: torch.zeros(2, 4) for t in TASKS}
    targets = torch.zeros(2, 3, dtype=torch.long)
    with pytest.raises(GradingError) as err:
        weighted_cross_entropy({"scs": logits["scs"]}, targets, torch.ones(3, 4), TASKS)
    assert err.value.code == "G112" and "'rfs'" in str(err.value)
    with pytest.raises(GradingError) as err:
        weighted_cross_entropy(logits, targets[:, :2], torch.ones(3, 4), TASKS)
    assert err.value.code == "G113"
    with pytest.raises(GradingError) as err:
        weighted_cross_entropy(logits, targets, torch.ones(3, 5), TASKS)
    assert err.value.code == "G113"
    with pytest.raises(GradingError) as err:
        weighted_cross_entropy(logits, targets - 2, torch.ones(3, 4), TASKS)
    assert err.value.code == "G111"


def test_sum_reduction_is_eq2_as_printed_and_task_mean_divides_each_task_by_its_labels() -> None:
    g = torch.Generator().manual_seed(3)
    logits = {t: torch.randn(6, 4, generator=g) for t in TASKS}
    targets = torch.randint(0, 4, (6, 3), generator=g)
    targets[:4, 2] = -1  # lfs labelled for 2 discs only, rfs for 5
    targets[0, 1] = -1
    weights = torch.rand(3, 4, generator=g) + 0.5
    per_task = []
    for i, t in enumerate(TASKS):
        keep = targets[:, i] != -1
        log_p = logits[t][keep].log_softmax(1)
        onehot = F.one_hot(targets[keep, i], 4).float()
        per_task.append((-(weights[i] * onehot * log_p).sum().item(), int(keep.sum())))
    summed = weighted_cross_entropy(logits, targets, weights, TASKS, reduction="sum")
    assert summed.item() == pytest.approx(sum(v for v, _ in per_task), rel=1e-6)
    mean = weighted_cross_entropy(logits, targets, weights, TASKS)  # the default
    assert mean.item() == pytest.approx(sum(v / n for v, n in per_task), rel=1e-6)
    with pytest.raises(GradingError, match="G001") as err:
        weighted_cross_entropy(logits, targets, weights, TASKS, reduction="mean")
    assert "loss_reduction" in str(err.value) and "task_mean" in str(err.value)
