"""The Evaluate tab's job: the model the window holds, evaluated on a class folder."""

from __future__ import annotations

from resnet_gui.gui.jobs.job import JobState


def evaluate(state: JobState, bundle, folder: str, device: str = "auto", amp: bool = True, tta: str | None = None):
    """The figures, the matrix and every file's answer; None when cancelled."""
    from resnet_gui.core.evaluation.evaluate import evaluate_model

    try:
        return evaluate_model(bundle, folder, device=device, amp=amp, tta=tta, progress=state.progress,
                              cancelled=state.cancelled)
    except InterruptedError:
        return None
