"""The sepal scatter plot (sepal length against sepal width, one colour per species):
drawn once when a consumer ends, and with --live while the records arrive.

The sepals come as species -> (distinct (length, width) points, records read): identical
points draw the same, so a --repeat run of a million records still draws 150 markers.
"""

import os
import time
from pathlib import Path

from irislab.errors import LabError
from irislab.layout import SPECIES_COLOUR


def display_available():
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def draw_sepals(ax, sepals):
    """The plot on `ax`; sepals: species -> (distinct (length, width) points, records read),
    in the layout's species order."""
    ax.clear()
    for species, (points, records) in sepals.items():
        if records:
            lengths, widths = zip(*points)
            ax.scatter(lengths, widths, color=SPECIES_COLOUR[species],
                       label=f"{species} ({records})")
    total = sum(records for _, records in sepals.values())
    ax.set_xlabel("sepal length (cm)")
    ax.set_ylabel("sepal width (cm)")
    ax.set_title(f"Iris sepals: {total} records read from Kafka")
    if total:
        ax.legend(title="species")


def save(fig, path, **kwargs):
    try:
        fig.savefig(path, dpi=100, **kwargs)
    except OSError as e:
        raise LabError(f"cannot save the plot to {path}: {e.strerror or e}") from None


def pyplot(window):
    import matplotlib
    if not window:
        matplotlib.use("Agg")  # draw to a file; no window, no display needed
    import matplotlib.pyplot as plt
    return plt


def plot_sepals(sepals, path, show=False):
    """The final plot of everything read, saved to `path`; with `show`, also in a window
    until it is closed."""
    if show:
        plt = pyplot(window=True)
        fig, ax = plt.subplots(figsize=(7, 5))
    else:
        # a file only: a Figure of its own, as matplotlib advises without a GUI; pyplot's
        # window machinery is not even loaded
        from matplotlib.figure import Figure
        fig = Figure(figsize=(7, 5))
        ax = fig.subplots()
    draw_sepals(ax, sepals)
    save(fig, path)
    if show:
        plt.show()
        plt.close(fig)


class LivePlot:
    """The plot redrawn while records arrive: in a window when there is a display, else by
    rewriting the plot file about once a second, so that an image viewer shows it filling in.

    The consumer calls update() a few times a second, not once per record, with a function
    that gives the sepals read so far (as plot_sepals takes them); it redraws only when new
    records came and its interval has passed. The plot saved at the end is drawn by
    plot_sepals, as without --live."""

    WINDOW_INTERVAL = 0.5  # s between redraws in a window: smooth enough, cheap to draw
    FILE_INTERVAL = 1.0    # s between rewrites of the file: an image viewer reloads about so

    def __init__(self, sepals_now, path, window):
        self.plt = plt = pyplot(window)
        # a display is no use without a window toolkit (tkinter): matplotlib then draws with Agg
        self.window = window and plt.get_backend().lower() != "agg"
        self.sepals_now, self.path = sepals_now, Path(path)
        self.drawn = None  # the records per species last drawn
        self.interval = self.WINDOW_INTERVAL if self.window else self.FILE_INTERVAL
        self.next_draw = 0.0
        if self.window:
            plt.ion()  # interactive: the window shows at once and does not block
        self.fig, self.ax = plt.subplots(figsize=(7, 5))
        self.fig.canvas.manager.set_window_title("irislab: sepals, live from Kafka")
        self.update(force=True)

    def update(self, force=False):
        if self.window and not self.plt.fignum_exists(self.fig.number):
            return  # the window was closed: the plot is still saved at the end
        now = time.monotonic()
        if force or now >= self.next_draw:
            sepals = self.sepals_now()
            records = {species: n for species, (_, n) in sepals.items()}
            if force or records != self.drawn:
                self.next_draw = now + self.interval
                self.drawn = records
                draw_sepals(self.ax, sepals)
                if self.window:
                    self.fig.canvas.draw_idle()
                elif any(records.values()):  # empty axes never replace a plot that is there
                    self.rewrite_file()
        if self.window:
            self.fig.canvas.flush_events()  # keep the window responsive between records

    def rewrite_file(self):
        # write beside it, then rename: a viewer never reads a half-written image
        partial = self.path.with_name(f".{self.path.name}.partial")
        save(self.fig, partial, format=self.path.suffix[1:] or "png")
        os.replace(partial, self.path)

    def close(self):
        self.plt.close(self.fig)
        if self.window:
            self.plt.ioff()
