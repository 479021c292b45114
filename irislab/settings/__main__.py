"""python -m irislab.settings [NAME] [--json]: the lab's question, every setting a student may
pick, with its default in the installed kafka-python and in kafka-python 1.4.4 (the lab's);
with a NAME, that setting's experiment: its effect made to happen and measured."""

import argparse
import sys

import kafka

from irislab import cli
from irislab.broker import MODES
from irislab.errors import run_command
from irislab.settings import LAB_VERSION, SETTINGS, as_dict, spelled
from irislab.settings.experiments import EXPERIMENTS
from irislab.settings.place import Place, throwaway
from irislab.settings.result import save_figure, table

COLUMNS = (("client", 8), ("setting", 37), (f"default ({kafka.__version__})", 20),
           (f"default ({LAB_VERSION})", 20))


def listing():
    """A line per setting; "-" where kafka-python 1.4.4 did not have the setting."""
    lines = [" ".join(f"{name:<{width}}" for name, width in COLUMNS) + " what it does"]
    for s in SETTINGS:
        values = (s.client, s.name, spelled(s.default), spelled(s.lab_default))
        lines.append(" ".join(f"{v:<{w}}" for v, (_, w) in zip(values, COLUMNS)) + " " + s.what)
    return "\n".join(lines)


def experiment_names():
    """Every name an experiment answers to: the settings, and their companions (fetch_max_wait_ms
    runs fetch_min_bytes')."""
    names = {s.name: s.name for s in SETTINGS if s.name in EXPERIMENTS}
    names.update({c: s.name for s in SETTINGS for c in s.companions if s.name in EXPERIMENTS})
    return names


def cluster_given(args):
    return args.bootstrap_server_given or "bootstrap_servers" in (args.client_config or {})


def main(args):
    if args.name is None:
        if args.json:
            import json
            print(json.dumps([as_dict(s) for s in SETTINGS], indent=2))
        else:
            print(listing())
        return 0
    name = experiment_names()[args.name]
    experiment = EXPERIMENTS[name]
    if cluster_given(args):
        place = Place(cli.client_settings(args))
        print(f"{name}: on {place.bootstrap}, topics settings.{name}*", file=sys.stderr)
        result = experiment.run(place)
        print(f"{name}: the topics are left on {place.bootstrap} to look at "
              f"(kcat -b {place.bootstrap} -L)", file=sys.stderr)
    else:
        brokers = f"{experiment.brokers} brokers" if experiment.brokers > 1 else "a broker"
        print(f"{name}: starting {brokers} of its own ({args.mode} mode), stopped and deleted "
              f"at the end", file=sys.stderr, flush=True)
        with throwaway(args.mode, experiment.brokers) as place:
            print(f"{name}: up on {place.bootstrap}, data in {place.cluster.home}",
                  file=sys.stderr, flush=True)
            result = experiment.run(place)
    print(table(result))
    if args.plot:
        save_figure(result, args.plot)
        print(f"saved the figure to {args.plot}")
    return 0


def build_parser():
    parser = argparse.ArgumentParser(prog="python -m irislab.settings",
                                     description=" ".join(__doc__.split()))
    parser.add_argument("name", nargs="?", metavar="NAME", choices=sorted(experiment_names()),
                        help="a setting whose experiment to run: " + ", ".join(
                            s.name for s in SETTINGS if s.name in EXPERIMENTS))
    parser.add_argument("--json", action="store_true",
                        help="the list as a JSON array of objects: client, name, default, "
                             "lab_default, lab_source, with, what, command, test")
    cli.add_connection_arguments(parser)
    parser.add_argument("--mode", choices=MODES, default="kraft",
                        help="without --bootstrap-server, the mode of the brokers the "
                             "experiment starts (default: kraft)")
    parser.add_argument("--plot", metavar="FILE",
                        help="save the experiment's figure (PNG, SVG or PDF) to FILE: " +
                             ", ".join(n for n, e in EXPERIMENTS.items() if e.figure))
    return parser


def parse_args(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    experiment = EXPERIMENTS.get(experiment_names().get(args.name))
    if args.json and args.name:
        parser.error("--json lists the settings; an experiment prints its table")
    if args.name is None and (args.plot or cluster_given(args)):
        parser.error("--plot, --bootstrap-server and --client-config go with a NAME")
    if args.plot and not experiment.figure:
        parser.error(f"{args.name} has no figure; --plot goes with " +
                     ", ".join(n for n, e in EXPERIMENTS.items() if e.figure))
    if experiment and experiment.own_brokers and cluster_given(args):
        parser.error(f"{args.name} kills a broker: it runs only on brokers it starts itself "
                     "(leave out --bootstrap-server)")
    return args


if __name__ == "__main__":
    sys.exit(run_command(main, parse_args(), "python -m irislab.settings"))
