"""Executing lab.ipynb with nbclient, as `make notebook` and the tests do, in the project's
venv: its own Jupyter kernel (ipykernel), the notebook's errors as one line each, a stamp of
each code cell's source as it was executed, and the HTML export (nbconvert)."""

import asyncio
import hashlib
import os
import signal
import sys
import tempfile
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from traitlets.config import Config
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

from irislab.errors import LabError

# the venv's kernel: a "python3" kernel elsewhere on the machine may lack the lab's packages
KERNEL = "irislab"
STAMP = "irislab"  # each code cell's metadata key: the source it was executed from


def venv_kernel():
    """The name of a Jupyter kernel that runs this Python, installed into its venv once."""
    from ipykernel.kernelspec import install
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    specs = KernelSpecManager()
    try:
        spec = specs.get_kernel_spec(KERNEL)
    except NoSuchKernel:
        install(kernel_name=KERNEL, display_name="Python (irislab)", prefix=sys.prefix)
        spec = specs.get_kernel_spec(KERNEL)
    if Path(spec.argv[0]) != Path(sys.executable):
        raise LabError(f"the Jupyter kernel {KERNEL!r} in {spec.resource_dir} runs "
                       f"{spec.argv[0]}, not this venv's Python: remove it "
                       f"(jupyter kernelspec remove {KERNEL}) and run again")
    return KERNEL


def read(path):
    return nbformat.read(path, as_version=4)


def execute(notebook, folder, env, timeout=600):
    """Run every cell of `notebook` in order, in `folder`, with the environment `env`, until
    one fails. Returns the notebook with its outputs and the first error as one line
    ("cell N: ..."), or None."""
    with tempfile.TemporaryDirectory(prefix="irislab-kernel-") as sockets:
        client = NotebookClient(notebook, kernel_name=venv_kernel(), timeout=timeout,
                                record_timing=False,
                                resources={"metadata": {"path": str(folder)}},
                                config=kernel_sockets(sockets))
        interrupted = []
        # once the kernel runs, Ctrl-C interrupts it (nbclient's own handler shuts it down)
        client.on_notebook_start = lambda notebook: asyncio.get_running_loop(
            ).add_signal_handler(signal.SIGINT, interrupt, client, interrupted)
        try:
            client.execute(env=env)
            error = None
        except CellExecutionError:
            error = first_error(notebook)  # the failed cell holds the error output
        except (CellTimeoutError, DeadKernelError) as e:
            error = str(e).splitlines()[0]
    if interrupted:
        raise KeyboardInterrupt
    for cell in code_cells(notebook):
        cell.outputs = joined_streams(cell.outputs)
    return notebook, error


def interrupt(client, interrupted):
    """Ctrl-C while the notebook runs interrupts its kernel, as Jupyter's stop button does:
    the running command stops as on Ctrl-C, and the run ends at that cell. (The kernel runs
    in a session of its own, out of the terminal's reach.)"""
    interrupted.append(True)
    if client.km.has_kernel:
        os.killpg(client.km.provisioner.pgid, signal.SIGINT)


def kernel_sockets(folder):
    """A kernel manager's settings: the kernel's sockets as files in `folder` (IPC), not on
    TCP ports, so that its messages stay on this machine, as the kernel's start-up warning
    asks. The path is absolute: the kernel runs in the notebook's folder, not in ours."""
    return Config({"KernelManager": {"transport": "ipc", "ip": str(Path(folder, "kernel"))}})


def joined_streams(outputs):
    """The outputs, with each run of lines printed to the same stream as one output, as
    Jupyter shows them (the kernel sends each line as it comes)."""
    joined = []
    for output in outputs:
        if (output.output_type == "stream" and joined
                and joined[-1].output_type == "stream" and joined[-1].name == output.name):
            joined[-1].text += output.text
        else:
            joined.append(output)
    return joined


def first_error(notebook):
    """"cell N: what it said", for the first cell with an error output, or None."""
    for number, cell in enumerate(notebook.cells, 1):
        for output in cell.get("outputs", ()):
            if output.output_type == "error":
                return f"cell {number}: {output.ename}: {output.evalue}"
    return None


def source_stamp(cell):
    return hashlib.sha256(cell.source.encode()).hexdigest()[:16]


def stamp(notebook):
    """Note in each code cell the source it was just executed from."""
    for cell in code_cells(notebook):
        cell.metadata[STAMP] = {"executed": source_stamp(cell)}


def not_executed(notebook):
    """The numbers of the code cells whose source changed since the notebook was executed,
    or that were added or run out of order since."""
    counts = [cell.execution_count for cell in code_cells(notebook)]
    in_order = counts == list(range(1, len(counts) + 1))
    return [number for number, cell in enumerate(notebook.cells, 1)
            if cell.cell_type == "code" and (
                not in_order
                or cell.metadata.get(STAMP, {}).get("executed") != source_stamp(cell))]


def code_cells(notebook):
    return [cell for cell in notebook.cells if cell.cell_type == "code"]


def write_html(notebook, path):
    """The notebook as one HTML page, its pictures inside, as Jupyter's own export."""
    from nbconvert import HTMLExporter
    body, _ = HTMLExporter().from_notebook_node(notebook)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(body, encoding="utf-8")
