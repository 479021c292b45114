"""irislab: the iris data set streamed through Apache Kafka, as in the lab."""

# the error types live in irislab.errors; LabError stays importable from here for scripts
# written against the package itself
from irislab.errors import LabError

__all__ = ["LabError"]
