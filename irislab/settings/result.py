"""What an experiment found: a small table of measured figures, one sentence saying what they
show, and, for the experiments whose result is a curve or a comparison, a figure."""

from dataclasses import dataclass
from typing import Optional


@dataclass
class Figure:
    """A chart: one line or bar series per label, drawn over the x values."""
    x_label: str
    y_label: str
    series: dict          # label -> list of (x, y)
    bars: bool = False    # a comparison of named cases, not a curve


@dataclass
class Result:
    setting: str
    columns: tuple        # the table's headings
    rows: list            # a tuple of values per row, as the headings say
    finding: str          # one sentence: what the figures show
    figure: Optional[Figure] = None

    def column(self, heading):
        """The values of one column, top to bottom."""
        i = self.columns.index(heading)
        return [row[i] for row in self.rows]

    def row(self, first):
        """The row whose first value is `first`, as heading -> value."""
        for row in self.rows:
            if row[0] == first:
                return dict(zip(self.columns, row))
        raise KeyError(first)


def shown(value):
    if isinstance(value, float):
        return f"{value:,.1f}" if abs(value) >= 10 else f"{value:.2f}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


def table(result):
    """The result as text: the table, columns aligned, then the finding."""
    # the first column names the case (a setting's value): as it is, without thousands commas
    cells = [list(result.columns)] + [[str(row[0])] + [shown(v) for v in row[1:]]
                                      for row in result.rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(result.columns))]
    lines = ["  ".join(cell.rjust(w) if i else cell.ljust(w)
                       for i, (cell, w) in enumerate(zip(row, widths))).rstrip()
             for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines + ["", result.finding])


def save_figure(result, path):
    """Draw the result's figure into `path` (PNG, SVG, PDF: by its suffix)."""
    import matplotlib
    matplotlib.use("Agg")
    from matplotlib import pyplot as plt
    chart = result.figure
    fig, ax = plt.subplots(figsize=(7, 4.5))
    if chart.bars:
        labels = list(chart.series)
        ax.bar(labels, [chart.series[label][0][1] for label in labels], color="tab:blue")
    else:
        for label, points in chart.series.items():
            ax.plot([x for x, _ in points], [y for _, y in points], marker="o", label=label)
        if len(chart.series) > 1:
            ax.legend()
    ax.set_xlabel(chart.x_label)
    ax.set_ylabel(chart.y_label)
    ax.set_title(f"{result.setting}: {result.finding}", fontsize=8, wrap=True)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
