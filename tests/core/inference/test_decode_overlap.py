"""Decoding in turn with the model, or the next batch while the model runs (OpenVINO): the same batches, in
order, either way."""

import threading

import torch

from resnet_gui.core.inference.decoded_batches import decode_in_turn
from resnet_gui.core.inference.predictor import collate_decoded


class Recording:
    """A dataset that notes which pictures were decoded before each batch reached the model."""

    def __init__(self, count: int):
        self.count = count
        self.decoded: list[int] = []
        self.lock = threading.Lock()

    def __len__(self):
        return self.count

    def __getitem__(self, index):
        with self.lock:
            self.decoded.append(index)
        return index, torch.full((3, 2, 2), index, dtype=torch.uint8), None, None


def run(ahead: bool, count: int = 10, batch: int = 4):
    dataset = Recording(count)
    seen, decoded_by_then = [], []
    for decoded in decode_in_turn(dataset, batch, 2, collate_decoded, ahead=ahead):
        # the model's turn: give the decoders a moment, then note what they had done
        threading.Event().wait(0.05)
        seen.append(decoded.indices)
        decoded_by_then.append(len(dataset.decoded))
    return seen, decoded_by_then


def test_ahead_or_not_the_batches_are_the_same_and_in_order():
    assert run(ahead=False)[0] == run(ahead=True)[0] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]


def test_ahead_the_next_batch_is_decoded_while_the_model_runs_and_in_turn_it_is_not():
    _, in_turn = run(ahead=False)
    _, ahead = run(ahead=True)
    assert in_turn == [4, 8, 10]  # nothing of the next batch while the model has this one
    assert ahead == [8, 10, 10]
