"""The Train tab's jobs: a training folder's classes counted, a run trained (from a folder or a project), the
learning-rate range test. A run's events reach the window as events of the job (jobs/job.py), the batches
as one throttled stream."""

from __future__ import annotations

from resnet_gui.gui.jobs.job import JobState


def scan_training_folder(state: JobState, folder: str, val_dir: str | None = None,
                         resumable_near: str | None = None) -> dict:
    """The classes of a training folder and their picture counts (no decoding). `resumable_near`: the model
    file a run on `folder` would write; a stopped run beside it is found."""
    from resnet_gui.core.images.folders import scan_class_folder

    scan = scan_class_folder(folder, val_dir)
    resumable = None
    if resumable_near:
        from resnet_gui.core.training.saver import find_resumable_run

        resumable = find_resumable_run(folder, resumable_near)
    return {"folder": folder, "classes": scan.classes, "counts": scan.counts(), "has_val": scan.val is not None,
            "resumable": resumable}


def check_training_folder(state: JobState, folder: str) -> dict:
    """The checks of the data that need no model (copies, small classes), in sentences, with the files."""
    from resnet_gui.core.audit.check import training_folder_warnings

    sentences, files = training_folder_warnings(folder, cancelled=state.cancelled)
    return {"folder": folder, "warnings": sentences, "files": files}


def _forwarder(state: JobState):
    """The run's callbacks as the job's events: `batches` a stream, the rest one event each."""
    from resnet_gui.core.training.events import TrainingCallback

    class Forward(TrainingCallback):
        def on_status(self, text):
            state.status(text)

        def on_input_chosen(self, text):
            state.event("input_chosen", text)

        def on_data_ready(self, data):
            state.event("data_ready", {
                "classes": data.classes, "train": data.class_counts("train"), "val": data.class_counts("val"),
                "skipped": data.skipped, "warnings": data.warnings, "cached": data.cached,
            })

        def on_epoch_start(self, epoch, epochs):
            state.event("epoch_started", epoch, epochs)

        def on_epochs_chosen(self, epochs, text):
            state.event("epochs_chosen", epochs, text)

        def on_estimate(self, seconds, batches_timed):
            state.event("estimated", seconds, batches_timed)

        def on_lr_found(self, finding):
            state.event("lr_found", finding)

        def on_lr_sweep(self, step, steps, rate, loss):
            state.stream("lr_points", (step, steps, rate, loss))

        def on_batch_end(self, event):
            state.stream("batches", event)

        def on_epoch_end(self, event):
            state.event("epoch_ended", event)

        def on_finishing(self):
            state.event("finishing")

    return Forward()


def train(state: JobState, settings, *, project: str | None = None, keep_specimens: bool = False,
          resume_project: bool = False, from_run: int | None = None):
    """A Trainer's run; `state.requested("stop")` ends it after the current batch and it still returns its
    result (the best checkpoint so far), `state.requested("skip")` skips the finishing steps. For a project
    (`project`: its folder; `from_run`: a run whose model it starts from), the event `project_run` carries the
    ProjectRun. None when it stopped before training began."""
    from resnet_gui.core.training.trainer import Trainer

    stop, skip = (lambda: state.requested("stop")), (lambda: state.requested("skip"))
    try:
        if project is None:
            return Trainer(settings, [_forwarder(state)], cancelled=stop, skip_finishing=skip).run()
        from resnet_gui.core.projects.training import train_project

        run = train_project(project, settings, keep_specimens=keep_specimens, callbacks=[_forwarder(state)],
                            cancelled=stop, skip_finishing=skip, resume=resume_project, from_run=from_run)
        state.event("project_run", run)
        return run.result
    except InterruptedError:
        return None


def find_learning_rate(state: JobState, settings):
    """The range test on what a run with `settings` would train on: the LRFinding, or None when cancelled.
    The sweep's points arrive as the stream `lr_points` of (step, steps, rate, smoothed loss)."""
    from resnet_gui.core.training.trainer import Trainer

    try:
        return Trainer(settings, [_forwarder(state)], cancelled=state.cancelled).find_learning_rate()
    except InterruptedError:
        return None


def preview_augmentation(state: JobState, settings):
    """The grid of what the augmentation makes of a few of the folder's pictures (core/training/augment_preview.py),
    as a QImage for the window."""
    import numpy as np

    from resnet_gui.core.training.augment_preview import preview_augmentation as make_grid
    from resnet_gui.gui.jobs.pictures import to_qimage

    return to_qimage(np.asarray(make_grid(settings)))
