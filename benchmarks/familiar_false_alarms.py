"""How many familiar pictures a trained model marks 'unfamiliar' (its false alarms), against the 5% its
threshold is set for, on held-out pictures of three kinds of data: the example's microscope fields (the
README's recipe), grey shapes and coloured squares. Beside each, the bound the Model tab states (a 90% Wilson
bound from the checkpoint's own validation count, core/summaries.false_alarm_range).

    python benchmarks/familiar_false_alarms.py
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from common import ROOT, machine  # noqa: F401  (puts the project on sys.path)

from resnet_gui.core.inference.predictor import Predictor
from resnet_gui.core.models.resnets import load_checkpoint_bundle
from resnet_gui.core.projects.example import example_settings, write_example
from resnet_gui.core.summaries import false_alarm_range
from resnet_gui.core.training.settings import TrainSettings
from resnet_gui.core.training.trainer import Trainer
from tests.support import make_grey_shapes, make_shapes_dataset


def measure(name: str, settings: TrainSettings, held_out: Path) -> dict:
    started = time.perf_counter()
    result = Trainer(settings).run()
    bundle = load_checkpoint_bundle(result.best_path)
    pictures = sorted(p for p in held_out.rglob("*") if p.suffix == ".png")
    predictions = Predictor(bundle, device="cpu").predict_all(pictures)
    marked = sum(p.unfamiliar for p in predictions)
    samples = bundle.familiarity["samples"]
    return {"data": name, "validation pictures": samples, "held-out pictures": len(pictures), "marked": marked,
            "share": marked / len(pictures), "bound": false_alarm_range(0.05, samples)[1],
            "accuracy": sum(p.best.label == Path(p.path).parent.name for p in predictions) / len(pictures),
            "seconds": time.perf_counter() - started}


def main() -> None:
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        made = write_example(root / "example")
        rows.append(measure("the example (README's recipe)", example_settings(made, root / "ex.pt"), made.test))
        grey = make_grey_shapes(root / "grey" / "train", 60)
        make_grey_shapes(root / "grey" / "held", 40, seed=9)
        rows.append(measure("grey shapes, 32 px", TrainSettings(data_dir=str(grey), weights="none", image_size=32,
                                                                 epochs=10, batch_size=16, out=str(root / "g.pt")),
                            root / "grey" / "held"))
        colour = make_shapes_dataset(root / "colour" / "train", per_class=60, size=40)
        make_shapes_dataset(root / "colour" / "held", per_class=40, size=40, seed=7)
        rows.append(measure("coloured squares, 40 px", TrainSettings(data_dir=str(colour), weights="none",
                                                                      epochs=6, batch_size=16, out=str(root / "c.pt")),
                            root / "colour" / "held"))
    print(machine())
    print("| data | validation pictures | held-out familiar | marked unfamiliar | share | bound stated | accuracy |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['data']} | {r['validation pictures']} | {r['held-out pictures']} | {r['marked']} | "
              f"{r['share']:.1%} | {r['bound']:.0%} | {r['accuracy']:.1%} |")


if __name__ == "__main__":
    main()
