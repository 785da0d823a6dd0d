"""Errors a user can cause. Their message is the sentence the user reads."""


class UserError(Exception):
    """Something the user can fix: the message says what was wrong and what to do."""


class CheckpointError(UserError):
    """A checkpoint file that cannot be used."""


class WeightsUnavailableError(UserError):
    """Pretrained weights that could not be downloaded or found in the cache."""


class DeviceError(UserError):
    """A device that was asked for but is not present."""


class DatasetError(UserError):
    """A training or evaluation folder that cannot be used."""
