"""When the model is guessing: temperature scaling, reliability, and an "unsure" threshold.

Temperature scaling (Guo et al., 2017) divides the logits by one number fitted
on the validation set to minimise the negative log-likelihood; it changes how
confident the model says it is, never which class it picks.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from resnet_gui.core.summaries import UNSURE_TARGET_ACCURACY


def negative_log_likelihood(logits: torch.Tensor, labels: torch.Tensor, temperature: float = 1.0) -> float:
    return nn.functional.cross_entropy(logits.float() / temperature, labels).item()


def fit_temperature(logits: torch.Tensor, labels: torch.Tensor, max_iter: int = 200) -> float:
    """The temperature (0.05 .. 20) that minimises validation NLL, fitted in log space with L-BFGS."""
    logits = logits.detach().float()
    labels = labels.detach().long()
    if len(labels) and bool((logits.argmax(1) == labels).all()):
        # Not one mistake: the likelihood only grows as the temperature falls, down to the bound, and the
        # model would be made sure of everything (noise included) on no evidence. Left as it is.
        return 1.0
    log_t = torch.zeros(1, requires_grad=True)
    optimizer = torch.optim.LBFGS([log_t], lr=0.1, max_iter=max_iter, line_search_fn="strong_wolfe")

    def closure():
        optimizer.zero_grad()
        loss = nn.functional.cross_entropy(logits / log_t.exp(), labels)
        loss.backward()
        return loss

    optimizer.step(closure)
    temperature = float(log_t.detach().exp().clamp(0.05, 20.0))
    if not math.isfinite(temperature):
        return 1.0
    # L-BFGS can stop at a worse point on tiny sets: never return a temperature that raises the NLL.
    if negative_log_likelihood(logits, labels, temperature) > negative_log_likelihood(logits, labels, 1.0):
        return 1.0
    return temperature


def reliability(probs: torch.Tensor, labels: torch.Tensor, bins: int = 10) -> dict:
    """Confidence vs accuracy in equal-width confidence bins, and the expected calibration error."""
    confidence, predicted = probs.max(dim=1)
    correct = (predicted == labels).float()
    edges = torch.linspace(0, 1, bins + 1)
    rows, ece = [], 0.0
    total = len(labels)
    for i in range(bins):
        low, high = edges[i].item(), edges[i + 1].item()
        inside = (confidence > low) & (confidence <= high) if i else (confidence >= low) & (confidence <= high)
        count = int(inside.sum())
        if count:
            conf = confidence[inside].mean().item()
            acc = correct[inside].mean().item()
            ece += count / total * abs(acc - conf)
        else:
            conf = acc = 0.0
        rows.append({"low": low, "high": high, "count": count, "confidence": conf, "accuracy": acc})
    return {"bins": rows, "ece": ece}


def suggest_threshold(probs: torch.Tensor, labels: torch.Tensor,
                      target_accuracy: float = UNSURE_TARGET_ACCURACY) -> float:
    """The lowest confidence above which the validation answers are right `target_accuracy` of the time.

    Below it a result is "unsure". When every validation answer together
    already reaches the target, nothing needs flagging and the answer is 0
    (off): the least confident answer of a small, all-correct validation set
    (say 99.96%) would otherwise mark nearly every new answer unsure. When no
    threshold reaches the target, the one with the best accuracy among those
    keeping a fifth of the answers.
    """
    confidence, predicted = probs.max(dim=1)
    correct = (predicted == labels).float()
    order = torch.argsort(confidence, descending=True)
    confidence, correct = confidence[order], correct[order]
    kept = torch.arange(1, len(correct) + 1, dtype=torch.float32)
    accuracy = torch.cumsum(correct, 0) / kept
    reaching = (accuracy >= target_accuracy).nonzero().flatten()
    if len(reaching) and int(reaching.max()) == len(correct) - 1:
        return 0.0
    if len(reaching):
        index = int(reaching.max())  # keep as many answers as the target allows
    else:
        minimum = max(1, len(correct) // 5)
        index = int(torch.argmax(accuracy[minimum - 1:])) + minimum - 1
    return round(float(confidence[index]), 4)


def calibrate(logits: torch.Tensor, labels: torch.Tensor) -> dict:
    """Everything stored in a checkpoint after training: temperature, before/after figures, threshold.

    The temperature minimises the likelihood, not the calibration error: on a small validation set it can
    make the expected calibration error worse (0.076 -> 0.084 was seen). Then the model stays uncalibrated
    (temperature 1) and `declined` keeps what the fit would have given, so the front ends can say so."""
    fitted = fit_temperature(logits, labels)
    before = torch.softmax(logits.float(), 1)
    ece_before = reliability(before, labels)["ece"]
    ece_fitted = reliability(torch.softmax(logits.float() / fitted, 1), labels)["ece"]
    declined = None
    temperature = fitted
    if fitted != 1.0 and ece_fitted > ece_before:
        declined = {"temperature": fitted, "ece": ece_fitted}
        temperature = 1.0
    after = torch.softmax(logits.float() / temperature, 1)
    return {
        "temperature": temperature,
        "declined": declined,
        "nll_before": negative_log_likelihood(logits, labels),
        "nll_after": negative_log_likelihood(logits, labels, temperature),
        "reliability_before": reliability(before, labels),
        "reliability_after": reliability(after, labels),
        "unsure_below": suggest_threshold(after, labels),
        "samples": len(labels),
    }
