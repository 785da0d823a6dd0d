"""Golden samples: a few validation inputs stored in the checkpoint with the outputs they gave.

Re-running them tells whether a model still answers as it did when it was
trained: after a torchvision upgrade, after loading on another machine, or
in an exported copy (ONNX, TorchScript).
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from resnet_gui.core.images.transforms import Preprocessing, normalize_batch

TOLERANCE = 1e-4  # in probability, after the softmax (with the stored temperature)


def make_golden(model: torch.nn.Module, inputs: torch.Tensor, prep: Preprocessing, temperature: float = 1.0) -> dict:
    """`inputs`: uint8 [N, 3, S, S] network inputs (already resized and cropped)."""
    model = model.eval()
    device = next(model.parameters()).device
    with torch.inference_mode():
        logits = model(normalize_batch(inputs.to(device), prep)).float().cpu()
    return {"inputs": inputs.cpu().clone(), "logits": logits, "tolerance": TOLERANCE}


def golden_tolerance(golden: dict | None) -> float:
    """The difference in probability a file's golden samples allow (the file's own, else TOLERANCE)."""
    return float((golden or {}).get("tolerance", TOLERANCE))


def golden_difference(run: Callable[[torch.Tensor], torch.Tensor], golden: dict, prep: Preprocessing,
                      temperature: float = 1.0) -> float:
    """Largest difference in probability between the stored outputs and `run(normalised inputs)` -> logits."""
    x = normalize_batch(golden["inputs"], prep)
    now = torch.as_tensor(run(x)).float().cpu()
    expected = torch.softmax(golden["logits"].float() / temperature, 1)
    return float((torch.softmax(now / temperature, 1) - expected).abs().max())


def verify_model(model: torch.nn.Module, golden: dict, prep: Preprocessing, temperature: float = 1.0) -> float:
    model = model.eval()
    device = next(model.parameters()).device

    def run(x):
        with torch.inference_mode():
            return model(x.to(device))

    return golden_difference(run, golden, prep, temperature)
