"""irislab: the iris data set streamed through Apache Kafka, as in the lab."""


class LabError(Exception):
    """A runtime failure a user can act on: the command prints it on one line and exits 1."""
