"""Sentences about results, shared by the command line and the window.

No torch here: the window imports this before torch has loaded.
"""

from __future__ import annotations

import math

UNSURE_TARGET_ACCURACY = 0.95  # above the suggested threshold, answers were right this often on validation


def describe_threshold(unsure_below: float | None) -> str:
    """The suggestion in words, for the command line and the window."""
    if not unsure_below:
        return (f"no 'unsure' threshold needed: all the validation answers together were right "
                f"{UNSURE_TARGET_ACCURACY:.0%} of the time or more")
    return f"suggested 'unsure' below {unsure_below:.1%}"


MIN_CALIBRATION_IMAGES = 100  # fewer validation answers than this cannot show how well confidence is calibrated


def describe_calibration(calibration: dict, plain: bool = False) -> str:
    """The temperature fit in one clause, for `train`'s output and (`plain`: in a lab user's words, the term on
    hover) the Train tab: what was done to the confidence, and the expected calibration error on validation."""
    c = calibration
    before, after = c["reliability_before"]["ece"], c["reliability_after"]["ece"]
    declined = c.get("declined")
    if plain:
        if declined:
            return (f"left as it was: correcting it would have put it further off ({before:.3f} → "
                    f"{declined['ece']:.3f} on the validation pictures)")
        if c["temperature"] == 1.0:
            return f"left as it was, off by {before:.3f} on the validation pictures"
        return f"corrected, from off by {before:.3f} to off by {after:.3f} on the validation pictures"
    if declined:
        return (f"kept uncalibrated: the fitted temperature ({declined['temperature']:.2f}) would have made the "
                f"expected calibration error on validation worse ({before:.3f} -> {declined['ece']:.3f})")
    if c["temperature"] == 1.0:
        return f"kept uncalibrated (temperature 1), expected calibration error {before:.3f}"
    return f"temperature {c['temperature']:.2f}, expected calibration error {before:.3f} -> {after:.3f}"


def calibration_in_brief(calibration: dict, key: str = "reliability_after") -> str:
    """The same, short enough for a chart's title."""
    bins = [b for b in calibration[key]["bins"] if b["count"]]
    answers = sum(b["count"] for b in bins)
    if answers < MIN_CALIBRATION_IMAGES:
        return f"too few pictures ({answers}) to judge"
    busiest = max(bins, key=lambda b: b["count"])
    return f"says {busiest['confidence']:.0%}: right {busiest['accuracy']:.0%}"


def calibration_in_words(calibration: dict, key: str = "reliability_after") -> str:
    """What the reliability diagram shows, as a sentence: 'when it says 80%, it is right 78% of the time',
    for the confidence most answers have; or that there are too few answers to judge."""
    bins = [b for b in calibration[key]["bins"] if b["count"]]
    answers = sum(b["count"] for b in bins)
    if answers < MIN_CALIBRATION_IMAGES:
        return (f"Only {answers} validation pictures: too few to judge how far its confidence can be trusted "
                f"({MIN_CALIBRATION_IMAGES} or more are needed).")
    busiest = max(bins, key=lambda b: b["count"])
    return (f"When it says {busiest['confidence']:.0%}, it is right {busiest['accuracy']:.0%} of the time "
            f"({busiest['count']} of {answers} validation answers).")


def duration(seconds: float) -> str:
    """'45 s', '3 min 05 s', '2 h 07 min': how long something will take, for a person."""
    seconds = int(round(max(0.0, seconds)))
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def describe_pace(images_per_second: float, done: int, total: int, first_epoch: bool, elapsed: float,
                  estimate: float | None) -> str:
    """How fast a run trains and how long it has left: in its first epoch from the estimate said before it
    began (it knows the validation passes to come), later from the pace so far."""
    if estimate is None:
        return f"{images_per_second:.0f} images/s · timing…"
    left = estimate - elapsed if first_epoch else elapsed / max(done, 1) * (total - done)
    return f"{images_per_second:.0f} images/s · about {duration(left)} left"


def describe_tta(tta: dict | None) -> str:
    """An evaluation's test-time augmentation figures (core.evaluation's report["tta"]) in one sentence."""
    if not tta:
        return ""
    gain = tta["accuracy"] - tta["accuracy_without"]
    return (f"with test-time augmentation ({tta['mode']}): accuracy {tta['accuracy']:.2%}; the centre crop alone: "
            f"{tta['accuracy_without']:.2%} ({gain:+.2%})")


def describe_unfamiliar(unfamiliar: int | None, samples: int) -> str:
    """How many evaluated pictures were past the model's familiarity threshold ('' for a model without one)."""
    if unfamiliar is None:
        return ""
    return f"{unfamiliar} of {samples} test pictures were marked unfamiliar (unlike the training pictures)"


FAMILIARITY_METHODS = {"mahalanobis": "Mahalanobis distance of the pooled features to the nearest class",
                       "energy": "energy score of the logits"}


def describe_familiarity(spec: dict | None) -> str:
    """What a model does about pictures unlike its training pictures, for a person."""
    if not spec:
        return "no check for unfamiliar pictures (the file has none; a model trained by this version has one)"
    method = FAMILIARITY_METHODS.get(spec.get("method"), spec.get("method"))
    share = float(spec.get("familiar_share", 0.95))
    samples = spec.get("samples")
    text = (f"pictures unlike the training pictures are marked 'unfamiliar' ({method}; {share:.0%} of the "
            f"{samples if samples else '?'} validation pictures count as familiar)")
    if isinstance(samples, int) and samples > 0:
        low, high = false_alarm_range(1 - share, samples)
        text += (f". New pictures of the trained kinds are marked too, about {1 - share:.0%} of them; set on "
                 f"{samples} pictures, that share may be as high as {high:.0%}")
    return text


def false_alarm_range(rate: float, samples: int, z: float = 1.645) -> tuple[float, float]:
    """The (lower, upper) one-sided 90% Wilson bounds on a share `rate` measured on `samples` pictures: how
    far the share of familiar pictures marked unfamiliar can be from the one the threshold was set for.
    Measured: the example (48 validation pictures) marked 10 of 80 test pictures, 12.5%, where the bound
    is 13%; grey shapes (75) marked 4.7% (bound 11%)."""
    n = float(samples)
    centre = (rate + z * z / (2 * n)) / (1 + z * z / n)
    spread = z * math.sqrt(rate * (1 - rate) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - spread), min(1.0, centre + spread)


def describe_package_checks(result: dict) -> str:
    """What was checked on a bioimage.io package (core.bioimageio_package.write_package's result), in one
    sentence for the front ends."""
    parts = [f"{fmt} weights checked on the golden samples (largest difference {check['max_difference']:.1e})"
             for fmt, check in result["weights"].items() if check.get("verified")]
    if result["validated"]:
        parts.append("the package passed bioimageio.core's model test")
    else:
        parts.append("not tested with bioimageio.core (pip install 'resnet-gui[bioimageio]' to test)")
    return "; ".join(parts)
