"""python -m irislab.settings [--json]: the lab's question, every setting a student may pick,
with its default in the installed kafka-python and in kafka-python 1.4.4 (the lab's)."""

import argparse
import json
import sys

import kafka

from irislab.errors import run_command
from irislab.settings import LAB_VERSION, SETTINGS, as_dict, spelled

COLUMNS = (("client", 8), ("setting", 37), (f"default ({kafka.__version__})", 20),
           (f"default ({LAB_VERSION})", 20))


def table():
    """A line per setting; "-" where kafka-python 1.4.4 did not have the setting."""
    lines = [" ".join(f"{name:<{width}}" for name, width in COLUMNS) + " what it does"]
    for s in SETTINGS:
        values = (s.client, s.name, spelled(s.default), spelled(s.lab_default))
        lines.append(" ".join(f"{v:<{w}}" for v, (_, w) in zip(values, COLUMNS)) + " " + s.what)
    return "\n".join(lines)


def main(args):
    if args.json:
        print(json.dumps([as_dict(s) for s in SETTINGS], indent=2))
    else:
        print(table())
    return 0


def build_parser():
    parser = argparse.ArgumentParser(prog="python -m irislab.settings",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--json", action="store_true",
                        help="a JSON array of objects: client, name, default, lab_default, "
                             "lab_source, with, what, command, test")
    return parser


if __name__ == "__main__":
    sys.exit(run_command(main, build_parser().parse_args(), "python -m irislab.settings"))
