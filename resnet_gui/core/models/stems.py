"""The first layers ("stems") a ResNet can start with, as plain data: no torch, so that the window and
the command line can name them before torch has loaded.

A stem decides how much of a picture's resolution reaches the residual stages, and with it nearly all
of the network's arithmetic: each halving of the side divides the cost of everything after it by four.
ImageNet's stem (7x7 stride 2, then a 3x3 max-pool) quarters the side, which suits photographs of 224 px
and leaves a 32 px picture 1 px wide by the last stage. The CIFAR-style small-input stem keeps the whole
side, at 16 times the arithmetic. The pooled stem between them (3x3 stride 1, then the max-pool) halves
it: measured on 32-64 px pictures it learns as much per epoch as the small-input stem in about a third of
the time (benchmarks/small_pictures.py, RESULTS.md).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Stem:
    name: str  # stored in checkpoints and given to --stem
    kernel: int  # the first convolution's kernel side (its weights' shape tells 7 from 3)
    stride: int
    max_pool: bool
    technical: str  # for the command line and the model card
    plain: str  # for the window

    @property
    def reduction(self) -> int:
        """How many times narrower the first residual stage sees the picture."""
        return self.stride * (2 if self.max_pool else 1)


STEMS: dict[str, Stem] = {s.name: s for s in (
    Stem("imagenet", 7, 2, True, "the ImageNet stem: 7x7/2 + max-pool",
         "the usual first layer for photographs"),
    Stem("pooled", 3, 1, True, "the pooled small-input stem: 3x3/1 + max-pool",
         "a first layer for small pictures that halves their side"),
    Stem("small", 3, 1, False, "the small-input stem: 3x3/1, no max-pool",
         "a first layer that keeps all of small pictures' detail"),
)}
IMAGENET_STEM, POOLED_STEM, SMALL_STEM = "imagenet", "pooled", "small"


def stem(name: str) -> Stem:
    from resnet_gui.core.errors import UserError

    try:
        return STEMS[name]
    except KeyError:
        raise UserError(f"Unknown stem '{name}'. Choose one of: {', '.join(STEMS)}.") from None


def stem_of(small_input: bool, name: str | None = None) -> str:
    """The stem a model has: its recorded name, else what `small_input` says of a file from before stems
    had names (a 3x3 first layer then always meant the small-input stem without max-pool)."""
    if name:
        return stem(name).name
    return SMALL_STEM if small_input else IMAGENET_STEM


def is_small_input(name: str) -> bool:
    """Whether a stem has the 3x3 first convolution (what older files call `small_input`)."""
    return stem(name).kernel == 3
