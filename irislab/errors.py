"""The errors a user can act on, and how a command reports them: one line on stderr naming
the cause, exit status 1 (2, bad usage, is argparse's). Every part of irislab may
import it; it imports nothing of irislab but the leaf module kafka_client.
"""

import sys


class LabError(Exception):
    """A runtime failure a user can act on: the command prints it on one line and exits 1."""


class BrokerError(LabError):
    """A local broker could not be started, stopped or found; the message says why."""


class LayoutError(LabError):
    """A lab topic exists with the wrong number of partitions."""


class DatasetError(LabError):
    """The iris data could not be read: the message names the file (and line)."""


class AccessError(LabError):
    """The broker refused the client: its certificate, its protocol, the login or an ACL.
    The message says which, naming the user, and what to change or grant."""


def run_command(main, args, prog):
    """Run a command's main(args) and turn failures into one line on stderr and an exit
    status: main's own, 1 for a runtime failure, 130 for Ctrl-C."""
    # imported here, so that importing the error types does not load kafka-python
    from kafka.errors import KafkaError

    from irislab import kafka_client
    kafka_client.prepare()
    try:
        return main(args)
    except LabError as e:
        print(f"{prog}: error: {e}", file=sys.stderr)
    except KafkaError as e:
        print(f"{prog}: error: Kafka: {e}", file=sys.stderr)
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130
    return 1
