"""Trust: calibration, unsure, Grad-CAM, golden samples, exports, the evaluation report."""

import json

import numpy as np
import pytest
import torch
from PIL import Image

from resnet_gui.cli import main
from resnet_gui.core.evaluation.metrics import one_vs_rest, roc_curve, summarize
from resnet_gui.core.evaluation.report import render_html
from resnet_gui.core.inference.explain import explain, grad_cam, to_image_frame
from resnet_gui.core.inference.predictor import Predictor
from resnet_gui.core.models.checkpoints import read_checkpoint, write_checkpoint
from resnet_gui.core.models.resnets import load_checkpoint_bundle
from resnet_gui.core.trust.calibration import (
    calibrate,
    fit_temperature,
    negative_log_likelihood,
    reliability,
    suggest_threshold,
)
from tests.support import COLOURS


# ------------------------------------------------------------------ calibration
def test_temperature_scaling_lowers_validation_nll():
    torch.manual_seed(0)
    labels = torch.randint(0, 4, (400,))
    logits = torch.randn(400, 4)
    logits[torch.arange(400), labels] += 1.5
    overconfident = logits * 4  # right 80% of the time but sure of itself every time
    temperature = fit_temperature(overconfident, labels)
    assert 2.5 < temperature < 6
    assert negative_log_likelihood(overconfident, labels, temperature) < negative_log_likelihood(overconfident, labels)
    result = calibrate(overconfident, labels)
    assert result["nll_after"] < result["nll_before"]
    assert result["reliability_after"]["ece"] < result["reliability_before"]["ece"]


def test_a_validation_set_without_a_mistake_leaves_the_temperature_alone():
    labels = torch.tensor([0, 1, 2, 0, 1, 2])
    logits = torch.nn.functional.one_hot(labels, 3).float() * 2.0  # every answer right, none very sure
    assert fit_temperature(logits, labels) == 1.0  # not the 0.05 bound the likelihood alone would pick


def test_a_temperature_that_makes_the_calibration_error_worse_is_declined_and_said():
    import math

    from resnet_gui.core.summaries import describe_calibration

    # 9 right answers at 90% and one wrong at 99%: the likelihood wants a temperature of about 1.7, which
    # takes the right answers down to about 78% and the calibration error up from 0.189 to 0.289.
    logits = torch.tensor([[math.log(9), 0.0]] * 9 + [[math.log(99), 0.0]])
    labels = torch.tensor([0] * 9 + [1])
    assert fit_temperature(logits, labels) == pytest.approx(1.713, abs=0.01)
    c = calibrate(logits, labels)
    assert c["temperature"] == 1.0
    assert c["declined"]["temperature"] == pytest.approx(1.713, abs=0.01)
    assert c["declined"]["ece"] == pytest.approx(0.289, abs=0.002)
    assert c["declined"]["ece"] > c["reliability_before"]["ece"]
    assert c["reliability_after"]["ece"] == c["reliability_before"]["ece"] == pytest.approx(0.189, abs=0.002)
    assert describe_calibration(c).startswith("kept uncalibrated: the fitted temperature (1.71) would have made")
    # an ordinary fit is kept and described with its figures
    good = calibrate(torch.tensor([[4.0, 0.0]] * 7 + [[0.0, 4.0]] * 2 + [[4.0, 0.0]]), torch.tensor([0] * 7 + [1] * 3))
    assert good["declined"] is None or good["temperature"] == 1.0
    assert "expected calibration error" in describe_calibration(good)


def test_reliability_bins_and_ece_by_hand():
    probs = torch.tensor([[0.95, 0.05], [0.95, 0.05], [0.55, 0.45], [0.55, 0.45]])
    labels = torch.tensor([0, 1, 0, 0])
    table = reliability(probs, labels, bins=10)
    top = table["bins"][9]
    assert (top["count"], top["accuracy"]) == (2, 0.5) and top["confidence"] == pytest.approx(0.95)
    assert table["bins"][5]["count"] == 2 and table["bins"][5]["accuracy"] == 1.0
    assert table["ece"] == pytest.approx(0.5 * 0.45 + 0.5 * 0.45)


def test_suggested_threshold_keeps_the_confident_answers_right():
    probs = torch.tensor([[0.99, 0.01], [0.9, 0.1], [0.8, 0.2], [0.6, 0.4], [0.55, 0.45]])
    labels = torch.tensor([0, 0, 0, 1, 0])
    assert suggest_threshold(probs, labels, target_accuracy=0.95) == pytest.approx(0.8)


def test_no_threshold_is_suggested_when_the_validation_answers_already_reach_the_target():
    from resnet_gui.core.summaries import describe_threshold

    # A small validation set, all right and all very confident: its least confident answer (99.9%) must not
    # become the threshold, or nearly every new answer would be called unsure.
    confident = torch.tensor([[0.9999, 0.0001], [0.0002, 0.9998], [0.999, 0.001]])
    assert suggest_threshold(confident, torch.tensor([0, 1, 0])) == 0.0
    # 19 of 20 right overall (95%) also needs no threshold; 18 of 20 does.
    probs = torch.linspace(0.99, 0.6, 20).unsqueeze(1) * torch.tensor([[1.0, 0.0]]) + torch.tensor([[0.0, 0.01]])
    labels = torch.zeros(20, dtype=torch.long)
    labels[-1] = 1
    assert suggest_threshold(probs, labels) == 0.0
    labels[-2] = 1
    assert suggest_threshold(probs, labels) == pytest.approx(probs[-3, 0].item(), abs=1e-4)
    assert describe_threshold(0.0) == describe_threshold(None)
    assert "needed" in describe_threshold(0.0) and describe_threshold(0.873) == "suggested 'unsure' below 87.3%"


def test_training_stores_temperature_threshold_and_golden(colour_model):
    _, result = colour_model
    contents = read_checkpoint(result.best_path)
    calibration = contents.extra["calibration"]
    assert contents.extra["temperature"] == calibration["temperature"] == result.calibration["temperature"]
    assert calibration["nll_after"] <= calibration["nll_before"] + 1e-9
    assert 0 <= calibration["unsure_below"] <= 1  # 0: every validation answer was right often enough
    golden = contents.extra["golden"]
    assert golden["inputs"].dtype == torch.uint8 and golden["inputs"].shape[1:] == (3, 32, 32)
    assert golden["logits"].shape == (len(golden["inputs"]), 3)
    bundle = load_checkpoint_bundle(result.best_path)
    assert bundle.temperature == calibration["temperature"]
    assert bundle.unsure_below == (calibration["unsure_below"] or None)


# ------------------------------------------------------------------ unsure
def test_unsure_below_the_threshold_keeps_the_best_guess(colour_model, capsys, tmp_path):
    data, result = colour_model
    from tests.support import save_noise

    # Noise is what the model is least sure about: its confidences spread out.
    paths = [save_noise(tmp_path / f"noise{i}.png", seed=i) for i in range(8)]
    predictions = Predictor(load_checkpoint_bundle(result.best_path), device="cpu", unsure_below=1.01,
                            check_familiarity=False).predict_all(paths)
    assert all(p.unsure and p.verdict == "unsure" and p.best is not None for p in predictions)
    sure = Predictor(load_checkpoint_bundle(result.best_path), device="cpu", unsure_below=None,
                     check_familiarity=False).predict_all(paths)
    assert not any(p.unsure for p in sure) and all(p.verdict == p.best.label for p in sure)
    out_csv = tmp_path / "r.csv"
    confidences = sorted(p.best.prob for p in sure)
    # a threshold between two different confidences, near the middle (a sure model gives several 1.0s)
    steps = [i for i in range(len(confidences) - 1) if confidences[i] < confidences[i + 1]]
    assert steps, confidences
    below = steps[len(steps) // 2] + 1
    threshold = (confidences[below - 1] + confidences[below]) / 2
    code = main(["classify", *map(str, paths), "--checkpoint", str(result.best_path), "--unsure-below",
                 str(threshold), "--json", "--csv", str(out_csv), "--no-unfamiliar"])
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"path"' in line]
    assert code == 0 and [r["unsure"] for r in rows] == [r["top_k"][0]["prob"] < threshold for r in rows]
    assert sum(r["unsure"] for r in rows) == below and all(r["top_k"] for r in rows)
    verdicts = [line.split(",")[1] for line in out_csv.read_text().splitlines()[1:]]
    assert verdicts == ["unsure" if r["unsure"] else r["top_k"][0]["label"] for r in rows]


def test_temperature_changes_confidence_not_the_answer(colour_model):
    _, result = colour_model
    bundle = load_checkpoint_bundle(result.best_path)
    images = torch.randint(0, 256, (5, 3, 32, 32), dtype=torch.uint8)
    calibrated = Predictor(bundle, device="cpu").probabilities(images)
    bundle.temperature = 1.0
    raw = Predictor(bundle, device="cpu").probabilities(images)
    assert torch.equal(calibrated.argmax(1), raw.argmax(1))


# ------------------------------------------------------------------ Grad-CAM
def planted(colour, corner, size=64):
    pixels = np.full((size, size, 3), 128, dtype=np.uint8)
    half = size // 2
    y, x = (0, 0) if corner == "top-left" else (half, half)
    pixels[y:y + half - 4, x:x + half - 4] = colour
    return Image.fromarray(pixels)


@pytest.mark.parametrize("corner", ["top-left", "bottom-right"])
def test_grad_cam_peaks_where_the_planted_pattern_is(colour_model, corner):
    _, result = colour_model
    bundle = load_checkpoint_bundle(result.best_path)
    bundle.preprocessing = bundle.preprocessing.__class__(32, 32, bundle.preprocessing.mean, bundle.preprocessing.std)
    image = planted(COLOURS["red"], corner)
    explanation = explain(bundle, image, bundle.classes.index("red"))
    heat = explanation.heatmap
    assert heat.shape == (64, 64) and 0 <= heat.min() and heat.max() > 0.9  # 1 at the peak, less once resized
    quadrant = heat[:32, :32] if corner == "top-left" else heat[32:, 32:]
    opposite = heat[32:, 32:] if corner == "top-left" else heat[:32, :32]
    assert quadrant.mean() > 2 * opposite.mean()


def test_grad_cam_map_is_placed_on_the_centre_crop():
    crop_map = np.ones((224, 224), dtype=np.float32)
    frame = to_image_frame(crop_map, (400, 256), resize=256, crop=224)
    assert frame.shape == (256, 400)
    assert frame[:, :80].max() == 0 and frame[:, -80:].max() == 0  # outside the crop: nothing
    assert frame[128, 200] == pytest.approx(1.0)
    # the map fades out towards the crop's border instead of ending in a hard rectangle
    left = int(np.nonzero(frame[128])[0][0])
    row = frame[128, left:left + 40]
    assert row[0] < 0.1 and row[-1] == pytest.approx(1.0) and np.all(np.diff(row) >= -1e-6)


def test_grad_cams_colour_key_runs_from_blue_to_red():
    from resnet_gui.core.inference.explain import colour_key, heat_colours

    key = colour_key(60, 10)
    assert key.shape == (10, 60, 3) and key.dtype == np.uint8
    assert tuple(key[0, 0]) == tuple(heat_colours(np.array([0.0]))[0]) and key[0, 0, 2] > 200  # blue: barely
    assert key[0, -1, 0] > 200 and key[0, -1, 2] < 30  # red: where the model looks most


def test_grad_cam_works_on_a_frozen_model():
    from tests.support import tiny_model

    model = tiny_model()
    for p in model.parameters():
        p.requires_grad = False
    cam = grad_cam(model, torch.randn(1, 3, 32, 32), 1)
    assert cam.shape == (32, 32) and np.isfinite(cam).all()


def test_explain_command_writes_an_overlay(colour_model, tmp_path, capsys):
    _, result = colour_model
    image_path = tmp_path / "planted.png"
    planted(COLOURS["blue"], "top-left").save(image_path)
    out = tmp_path / "cam.png"
    assert main(["explain", str(image_path), "--checkpoint", str(result.best_path), "--class", "blue",
                 "--out", str(out)]) == 0
    picture = Image.open(out)
    assert picture.size == (256, 256) and picture.mode == "RGB"  # a 64 px picture is saved at 256 px
    plain = Image.open(image_path).convert("RGB").resize((256, 256), Image.BICUBIC)
    assert np.abs(np.asarray(picture, float) - np.asarray(plain, float)).mean() > 5  # the heat map is on it
    assert main(["explain", str(image_path), "--checkpoint", str(result.best_path), "--class", "purple",
                 "--out", str(out)]) == 2
    assert "not one of the model's classes" in capsys.readouterr().err


# ------------------------------------------------------------------ golden and export
def test_info_verify_passes_and_fails_on_a_tampered_checkpoint(colour_model, tmp_path, capsys):
    _, result = colour_model
    assert main(["info", "--verify", str(result.best_path)]) == 0
    assert "golden samples give the stored outputs" in capsys.readouterr().out
    payload = torch.load(result.best_path, weights_only=True)
    payload["state_dict"]["layer4.1.conv2.weight"] += 0.05  # someone edited the weights
    tampered = write_checkpoint(tmp_path / "tampered.pt", payload)
    assert main(["info", "--verify", str(tampered)]) == 1
    assert "no longer gives the outputs" in capsys.readouterr().err


def test_info_verify_without_golden_is_a_sentence(tiny_checkpoint, capsys):
    assert main(["info", "--verify", str(tiny_checkpoint)]) == 2
    assert "has no golden samples" in capsys.readouterr().err


def test_torchscript_export_with_sidecar(colour_model, tmp_path, capsys):
    _, result = colour_model
    out = tmp_path / "model.ts"
    assert main(["export", str(result.best_path), "--format", "torchscript", "--out", str(out)]) == 0
    side = json.loads((tmp_path / "model.ts.json").read_text())
    assert side["classes"] == ["blue", "green", "red"] and side["image_size"] == 32
    assert side["temperature"] == pytest.approx(load_checkpoint_bundle(result.best_path).temperature)
    assert side["golden_check"]["verified"] and side["golden_check"]["checked_with"] == "golden samples"
    loaded = torch.jit.load(str(out))
    assert loaded(torch.randn(5, 3, 32, 32)).shape == (5, 3)  # batch dimension is free


def test_onnx_export_agrees_with_pytorch(colour_model, tmp_path):
    onnxruntime = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    _, result = colour_model
    out = tmp_path / "model.onnx"
    assert main(["export", str(result.best_path), "--format", "onnx", "--out", str(out)]) == 0
    side = json.loads((tmp_path / "model.onnx.json").read_text())
    assert side["golden_check"]["verified"]
    bundle = load_checkpoint_bundle(result.best_path)
    session = onnxruntime.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    x = torch.randn(7, 3, 32, 32)
    onnx_probs = torch.softmax(torch.from_numpy(session.run(["logits"], {"input": x.numpy()})[0]), 1)
    with torch.no_grad():
        torch_probs = torch.softmax(bundle.model.eval()(x), 1)
    assert (onnx_probs - torch_probs).abs().max() < 1e-4


def test_an_export_that_moved_is_refused(colour_model, tmp_path, monkeypatch):
    from resnet_gui.core.packaging import export as model_export
    from resnet_gui.core.packaging.export import ExportCheckFailed, export_model

    _, result = colour_model
    bundle = load_checkpoint_bundle(result.best_path)
    real = model_export.check_export

    def broken_export(bundle, run):
        return real(bundle, lambda x: run(x).roll(1, dims=1))  # classes shuffled: answers move

    monkeypatch.setattr(model_export, "check_export", broken_export)
    with pytest.raises(ExportCheckFailed, match="answers moved"):
        export_model(bundle, "torchscript", tmp_path / "bad.ts")
    assert not (tmp_path / "bad.ts").exists()


# ------------------------------------------------------------------ evaluation report
def test_report_figures_against_a_hand_computed_matrix():
    matrix = [[5, 1, 0], [2, 3, 1], [0, 0, 4]]
    figures = summarize(matrix, ["a", "b", "c"])
    assert figures["accuracy"] == pytest.approx(12 / 16)
    assert figures["per_class"]["a"] == pytest.approx({"precision": 5 / 7, "recall": 5 / 6,
                                                       "f1": 2 * (5 / 7) * (5 / 6) / (5 / 7 + 5 / 6), "support": 6})
    assert figures["per_class"]["c"]["precision"] == pytest.approx(4 / 5)


def test_roc_auc_by_hand():
    fpr, tpr, auc = roc_curve([0.9, 0.8, 0.4, 0.3], [True, False, True, False])
    assert auc == pytest.approx(0.75)
    assert one_vs_rest([[0.9, 0.1], [0.2, 0.8]], [0, 1], ["x", "y"])["roc_auc"] == {"x": 1.0, "y": 1.0}


def test_evaluate_report_html(colour_model, tmp_path, capsys):
    data, result = colour_model
    folder = tmp_path / "report"
    assert main(["evaluate", str(data), "--checkpoint", str(result.best_path), "--report", str(folder),
                 "--json"]) == 0
    figures = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert set(figures) >= {"accuracy", "per_class", "confusion_matrix", "roc_auc"}
    assert set(figures["roc_auc"]) == {"blue", "green", "red"}
    page = (folder / "index.html").read_text(encoding="utf-8")
    assert f"{figures['accuracy']:.1%}" in page and "<svg" in page and "ROC" in page
    for name in ("blue", "green", "red"):
        assert name in page
    mistakes = len(figures["mistakes"])
    assert page.count("<figure>") == min(mistakes, 60)
    assert "http://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")  # self-contained


def test_report_gallery_shows_most_confident_mistakes_first():
    thumb = "data:image/png;base64,AAAA"
    report = {"classes": ["a", "b"], "per_class": {"a": {"precision": 1, "recall": 1, "f1": 1, "support": 1},
                                                   "b": {"precision": 1, "recall": 1, "f1": 1, "support": 1}},
              "accuracy": 0.5, "samples": 2, "confusion_matrix": [[1, 0], [1, 0]], "roc_auc": {},
              "average_precision": {},
              "mistakes": [{"path": "low.png", "true": "b", "predicted": "a", "confidence": 0.6, "thumbnail": thumb},
                           {"path": "high.png", "true": "b", "predicted": "a", "confidence": 0.9, "thumbnail": thumb}]}
    page = render_html(report)
    assert page.index("high.png") < page.index("low.png")


def test_the_model_says_how_many_familiar_pictures_it_may_mark():
    """The example's model marked 10 of its 80 test pictures (12.5%) where 5% was promised: with 48 validation
    pictures the share is that uncertain, and the Model tab and `info` say so."""
    from resnet_gui.core.summaries import describe_familiarity, false_alarm_range

    low, high = false_alarm_range(0.05, 48)
    assert 0.125 < high < 0.14 and low < 0.05
    assert false_alarm_range(0.05, 5000)[1] < 0.06  # many validation pictures: close to what was set
    words = describe_familiarity({"method": "mahalanobis", "familiar_share": 0.95, "samples": 48})
    assert "about 5% of them" in words and "as high as 13%" in words
