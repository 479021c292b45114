"""python -m irislab.notebook: execute lab.ipynb in place and export it to HTML (make
notebook).

    python -m irislab.notebook [--mode zookeeper|kraft] [--notebook lab.ipynb]
                               [--html out/lab.html]

The notebook runs in its own folder on a broker it starts (or $KAFKA_BOOTSTRAP_SERVERS's).
It is saved with its new outputs only when every cell ran; the HTML page is written either
way, so that a failed run can be read there.
"""

import argparse
import os
import sys
import time
from pathlib import Path

import nbformat

from irislab.broker import MODES, LocalCluster
from irislab.errors import LabError, run_command
from irislab.notebook.execute import execute, read, stamp, write_html
from irislab.notebook.steps import broker_home


def main(args):
    if not args.notebook.is_file():
        raise LabError(f"no notebook at {args.notebook}")
    notebook = read(args.notebook)
    folder = args.notebook.resolve().parent
    started = time.monotonic()
    print(f"executing {args.notebook} ({args.mode} mode); each cell's output goes into it")
    try:
        notebook, error = execute(notebook, folder, {**os.environ, "MODE": args.mode})
    except KeyboardInterrupt:
        stop_left_broker(folder, args.mode)
        raise
    write_html(notebook, args.html)
    if error:
        stop_left_broker(folder, args.mode)
        raise LabError(f"{args.notebook} stopped at {error} (its outputs: {args.html}; "
                       f"{args.notebook} is left as it was)")
    stamp(notebook)
    nbformat.write(notebook, args.notebook)
    print(f"executed {args.notebook} in {time.monotonic() - started:.0f} s, every cell without "
          f"error; saved it with its outputs, and {args.html}")
    return 0


def stop_left_broker(folder, mode):
    """A run stopped midway did not reach the cell that stops its broker: stop it."""
    left = LocalCluster.running_in(folder / broker_home(mode))
    if left is not None and left.stop():
        print(f"stopped the broker the notebook left running in {left.home}")


def build_parser():
    parser = argparse.ArgumentParser(prog="python -m irislab.notebook",
                                     description="Execute lab.ipynb in place and export it "
                                                 "to HTML.")
    parser.add_argument("--mode", choices=sorted(MODES), default="zookeeper",
                        help="the broker the notebook starts (default: %(default)s)")
    parser.add_argument("--notebook", type=Path, default=Path("lab.ipynb"))
    parser.add_argument("--html", type=Path, default=Path("out/lab.html"))
    return parser


if __name__ == "__main__":
    sys.exit(run_command(main, build_parser().parse_args(), "irislab.notebook"))
