"""`--nproc N`: the same command in N processes on this machine, under PyTorch's own launcher
(torch.distributed.run, in this process), with one sentence for how they ended instead of its report."""

from __future__ import annotations

import signal

from resnet_gui.cli.common import EXIT_INTERNAL, EXIT_OK, EXIT_SOME_FAILED, say

# A process whose peer ended (killed, or failed) without finishing: not its own fault. It says so in one
# line and exits with this, so the launcher's sentence names the process that ended first for a reason.
EXIT_PEER_LEFT = 4

# What gloo and NCCL raise in a process whose peer went away mid-collective.
_PEER_LEFT_WORDS = ("connection closed by peer", "connection reset by peer", "broken pipe", "socket closed",
                    "connection refused", "timed out", "nccl communicator was aborted")


def peer_left(exc: BaseException) -> bool:
    """Whether `exc`, raised in a process of a multi-process run, says another process went away."""
    try:
        from torch.distributed import DistError
    except ImportError:  # an old torch: the words alone tell
        DistError = ()  # noqa: N806
    text = str(exc).lower()
    return isinstance(exc, DistError) or (isinstance(exc, RuntimeError) and any(w in text for w in _PEER_LEFT_WORDS))


def launch_processes(argv: list[str], nproc: int, after_a_kill: str = "") -> int:
    """Run `resnet-gui ARGV` (less --nproc) in `nproc` processes. When one fails, the launcher stops the
    others (none waits forever in a collective); each process has printed its own sentence, and the
    launcher's report, a traceback, is replaced by one sentence: which process ended first and why.
    Every process ending with exit 1 (some files could not be read: each said which) is exit 1, quietly."""
    import logging

    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.run import get_args_parser, run

    rest, skip = [], False
    for token in argv:
        if skip:
            skip = False
        elif token == "--nproc":
            skip = True
        elif not token.startswith("--nproc="):
            rest.append(token)
    launcher = get_args_parser().parse_args(["--standalone", f"--nproc_per_node={nproc}", "-m", "resnet_gui", *rest])
    for name in ("torch.distributed.elastic", "torch.distributed.run", "torch.distributed.launcher"):
        logging.getLogger(name).setLevel(logging.CRITICAL)  # its notices and its failure report: ours follows
    try:
        run(launcher)
    except ChildFailedError as failed:
        failures = dict(failed.failures)
        if all(f.exitcode == EXIT_SOME_FAILED for f in failures.values()):
            return EXIT_SOME_FAILED  # a normal outcome, said by the process that summed up the run
        # the first to end for a reason of its own; the ones stopped after it (by the launcher, or because
        # their peer left) only followed
        own = {rank: f for rank, f in failures.items() if f.exitcode != EXIT_PEER_LEFT} or failures
        rank, failure = min(own.items(), key=lambda item: item[1].timestamp)
        if failure.exitcode < 0:
            say(f"process {rank} of {nproc} was killed ({_signal_name(-failure.exitcode)}); the others were "
                "stopped with it." + (f" {after_a_kill}" if after_a_kill else ""))
            return EXIT_INTERNAL
        status = failure.exitcode if failure.exitcode < 256 else EXIT_INTERNAL
        say(f"process {rank} of {nproc} stopped (exit status {failure.exitcode}); the others were stopped with "
            "it. Its reason is above.")
        return status
    return EXIT_OK


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"
