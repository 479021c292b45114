"""lab.ipynb: the lab as a notebook. What its cells call (steps), and how `make notebook`
and the tests execute it (execute, python -m irislab.notebook)."""

from irislab.notebook.steps import Broker, Stopped, printed_table, run

__all__ = ["Broker", "Stopped", "printed_table", "run"]
