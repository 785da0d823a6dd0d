"""The model's jobs: torch imported and the devices listed, a model loaded, the model exported."""

from __future__ import annotations

from dataclasses import dataclass

from resnet_gui.gui.jobs.job import JobState


@dataclass(frozen=True)
class ModelChoice:
    """What the user picked: ImageNet weights for `arch`, or a checkpoint file."""

    arch: str
    checkpoint: str | None = None
    classes_file: str | None = None
    image_size: int | None = None


def list_devices(state: JobState) -> list[tuple[str, str]]:
    """The devices present (run with torch_needed: the first job imports torch and the core)."""
    from resnet_gui.core.runtime.devices import available_devices

    return available_devices()


def load_model(state: JobState, choice: ModelChoice):
    from resnet_gui.core.models.resnets import count_parameters, load_bundle, stage_table

    bundle = load_bundle(choice.checkpoint, arch=None if choice.checkpoint else choice.arch,
                         classes_file=choice.classes_file, image_size=choice.image_size)
    # What the Model tab shows, computed here: the GUI thread never runs torch.
    bundle.meta["stages"] = stage_table(bundle.model, bundle.preprocessing.image_size)
    bundle.meta["params"] = count_parameters(bundle.model)
    return bundle


def export_model(state: JobState, bundle, fmt: str, path: str):
    """The model the window holds as ONNX or TorchScript, checked on its golden samples, or a bioimage.io
    package of it."""
    import copy

    from resnet_gui.core.atomic_write import check_writable
    from resnet_gui.core.packaging.export import export_model as export

    if fmt == "bioimageio" and not path.lower().endswith(".zip"):
        path += ".zip"  # bioimage.io tools know a package by its .zip
    check_writable(path, "the exported model")
    # A copy: exporting moves the network to the CPU, and the window's own stays where it classifies.
    copied = copy.copy(bundle)
    copied.model = copy.deepcopy(bundle.model)
    if fmt == "bioimageio":
        from resnet_gui.core.packaging.bioimageio import write_package

        return path, write_package(copied, path)
    return export(copied, fmt, path)


def make_int8_copy(state: JobState, bundle, path: str, folder: str | None):
    """An INT8 copy of the window's model (core/packaging/int8.py), its steps said as the job's status."""
    import copy

    from resnet_gui.core.atomic_write import check_writable
    from resnet_gui.core.packaging.int8 import make_int8_copy as make

    if not path.lower().endswith((".pt", ".pth")):
        path += ".pt"
    check_writable(path, "the INT8 copy")
    copied = copy.copy(bundle)  # quantizing moves the network to the CPU; the window's own stays put
    copied.model = copy.deepcopy(bundle.model)
    return make(copied, path, folder=folder, progress=state.status, cancelled=state.cancelled)
