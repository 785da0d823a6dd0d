"""Errors a user can cause. Their message is the sentence the user reads."""


class UserError(Exception):
    """Something the user can fix: the message says what was wrong and what to do.

    The message is the command line's sentence. Where what to do differs in the window (a control
    instead of a flag), `in_window` holds the window's sentence; the window never quotes a flag.
    """

    def __init__(self, message: str = "", *, in_window: str | None = None):
        super().__init__(message)
        self.in_window = in_window

    def for_window(self) -> str:
        return self.in_window or str(self)


class CheckpointError(UserError):
    """A checkpoint file that cannot be used."""


class WeightsUnavailableError(UserError):
    """Pretrained weights that could not be downloaded or found in the cache."""


class DeviceError(UserError):
    """A device that was asked for but is not present."""


class DatasetError(UserError):
    """A training or evaluation folder that cannot be used."""
