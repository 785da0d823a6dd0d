"""Runs beyond one process, the way PyTorch's own launcher starts them.

`torchrun --nproc_per_node N -m resnet_gui ...` (or SLURM's `srun`) starts N copies of the command and
tells each its place through the environment: RANK, WORLD_SIZE and LOCAL_RANK (SLURM_PROCID,
SLURM_NTASKS, SLURM_LOCALID under srun without torchrun), as torchvision's reference scripts read them.
A plain `resnet-gui ...` is a world of one, and nothing here changes anything for it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class World:
    rank: int = 0
    size: int = 1
    local_rank: int = 0

    @property
    def is_distributed(self) -> bool:
        return self.size > 1

    @property
    def is_main(self) -> bool:
        """The process that prints, writes the files and speaks for the run."""
        return self.rank == 0

    def shard(self, items: Sequence[T]) -> Sequence[T]:
        """This process's fixed, contiguous share of `items`: shares in rank order are `items` in order."""
        start = self.rank * len(items) // self.size
        end = (self.rank + 1) * len(items) // self.size
        return items[start:end]


def world_from_environment(environ: Mapping[str, str] | None = None) -> World:
    environ = os.environ if environ is None else environ
    if "RANK" in environ and "WORLD_SIZE" in environ:
        return World(int(environ["RANK"]), int(environ["WORLD_SIZE"]), int(environ.get("LOCAL_RANK", 0)))
    if "SLURM_PROCID" in environ and "SLURM_NTASKS" in environ:
        return World(int(environ["SLURM_PROCID"]), int(environ["SLURM_NTASKS"]), int(environ.get("SLURM_LOCALID", 0)))
    return World()


def start_process_group(world: World) -> None:
    """Join the other processes: NCCL between GPUs, gloo on CPUs (and for a CPU-only rank)."""
    import torch
    import torch.distributed as dist

    if not world.is_distributed or dist.is_initialized():
        return
    if torch.cuda.is_available():
        torch.cuda.set_device(world.local_rank)
    backend = "nccl" if torch.cuda.is_available() else "gloo"
    dist.init_process_group(backend, rank=world.rank, world_size=world.size)


def device_for(world: World, requested: str) -> str:
    """`auto` under torchrun means this process's own GPU (LOCAL_RANK), when there are GPUs."""
    if requested != "auto" or not world.is_distributed:
        return requested
    import torch

    return f"cuda:{world.local_rank}" if torch.cuda.is_available() else "cpu"


SYNC_BN_ON_CPU = ("--sync-bn needs GPUs: torch computes SyncBatchNorm on CUDA only. On CPUs, leave it out "
                  "(each process then normalises its own share of the batch).")


def synchronised_batchnorm(model, world: World, device):
    """`model` with SyncBatchNorm layers, for --sync-bn: one set of batch statistics over every process's
    share of the batch. One process already sees the whole batch, so it is left as it is; torch computes
    SyncBatchNorm on GPUs only, so a CPU run is refused with a sentence rather than failing mid-epoch."""
    if not world.is_distributed:
        return model
    if device.type == "cpu":
        from resnet_gui.core.errors import UserError

        raise UserError(SYNC_BN_ON_CPU)
    import torch

    return torch.nn.SyncBatchNorm.convert_sync_batchnorm(model)


def gather_to_main(world: World, value: T) -> list[T] | None:
    """Every process's `value`, in rank order, on the main process (None elsewhere)."""
    if not world.is_distributed:
        return [value]
    import torch.distributed as dist

    gathered: list | None = [None] * world.size if world.is_main else None
    dist.gather_object(value, gathered, dst=0)
    return gathered


def share_from_main(world: World, value: T) -> T:
    """The main process's `value`, in every process (what the others pass is ignored)."""
    if not world.is_distributed:
        return value
    import torch.distributed as dist

    box = [value if world.is_main else None]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def end_process_group() -> None:
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()
