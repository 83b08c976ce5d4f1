"""What every `mnist-tfx` command exits with; the help texts print MEANINGS and the docs' tables match it."""
import enum


class ExitCode(enum.IntEnum):
    OK = 0
    FAILED = 1
    BAD_INPUT = 2
    NOT_PUSHED = 3
    BUSY = 4


MEANINGS = {
    ExitCode.OK: "done; for `run`: the model was pushed",
    ExitCode.FAILED: "any other failure, including a Kubeflow endpoint that refused the request or could not be "
                     "reached",
    ExitCode.BAD_INPUT: "bad arguments or bad input data, in one line naming the flag or file and the problem",
    ExitCode.NOT_PUSHED: "`run` trained a model but did not push it: not blessed, or the TFLite check failed; "
                         "the message gives the numbers",
    ExitCode.BUSY: "another run holds the output directory's lock; retry later",
}


def help_epilog() -> str:
    return "exit codes:\n" + "\n".join(f"  {code.value}  {MEANINGS[code]}" for code in ExitCode)
