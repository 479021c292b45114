"""The sepal scatter plot (sepal length against sepal width, one colour per species):
drawn once when a consumer ends, and with --live while the records arrive.

A consumer keeps its sepal points as {species: (lengths, widths)} arrays. Identical points
draw the same, so each distinct point is drawn once: a --repeat run of a million records
still draws 150 markers.
"""

import os
import time
from pathlib import Path

from irislab import LabError
from irislab.layout import SPECIES_COLOUR


def display_available():
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def distinct_points(lengths, widths, known=None):
    """The distinct (length, width) points, sorted; `known` is a previous result to add to."""
    import numpy as np
    points = np.column_stack([np.asarray(lengths, dtype=float), np.asarray(widths, dtype=float)])
    if known is not None:
        points = np.vstack([known, points])
    return np.unique(points, axis=0)


def draw_sepals(ax, points, counts):
    """The plot on `ax`: points and counts are per species, in the layout's species order."""
    ax.clear()
    for species, species_points in points.items():
        if counts[species]:
            ax.scatter(species_points[:, 0], species_points[:, 1], color=SPECIES_COLOUR[species],
                       label=f"{species} ({counts[species]})")
    total = sum(counts.values())
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
    plt = pyplot(show)
    points = {species: distinct_points(lengths, widths) for species, (lengths, widths)
              in sepals.items()}
    fig, ax = plt.subplots(figsize=(7, 5))
    draw_sepals(ax, points, {species: len(lengths) for species, (lengths, _) in sepals.items()})
    save(fig, path)
    if show:
        plt.show()
    plt.close(fig)


class LivePlot:
    """The plot redrawn while records arrive: in a window when there is a display, else by
    rewriting the plot file about once a second, so that an image viewer shows it filling in.

    The consumer calls update() a few times a second, not once per record; it redraws only
    when new records came and its interval has passed, and merges only the new points, so
    a million-record run stays cheap. The plot saved at the end is drawn by plot_sepals,
    as without --live."""

    WINDOW_INTERVAL = 0.5  # s between redraws in a window: smooth enough, cheap to draw
    FILE_INTERVAL = 1.0    # s between rewrites of the file: an image viewer reloads about so

    def __init__(self, sepals, path, window):
        self.plt = plt = pyplot(window)
        # a display is no use without a window toolkit (tkinter): matplotlib then draws with Agg
        self.window = window and plt.get_backend().lower() != "agg"
        self.sepals, self.path = sepals, Path(path)
        self.points = {species: distinct_points([], []) for species in sepals}
        self.counts = dict.fromkeys(sepals, 0)
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
        counts = {species: len(lengths) for species, (lengths, _) in self.sepals.items()}
        if force or (now >= self.next_draw and counts != self.counts):
            self.next_draw = now + self.interval
            for species, (lengths, widths) in self.sepals.items():
                seen = self.counts[species]
                if counts[species] > seen:  # merge only the points that came since
                    self.points[species] = distinct_points(lengths[seen:], widths[seen:],
                                                           self.points[species])
            self.counts = counts
            draw_sepals(self.ax, self.points, counts)
            if self.window:
                self.fig.canvas.draw_idle()
            else:
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
