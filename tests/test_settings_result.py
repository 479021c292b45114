"""What an experiment prints (a table and a finding) and draws (--plot)."""

import pytest
from matplotlib import image

from irislab.settings.result import Figure, Result, save_figure, table

pytestmark = pytest.mark.unit


def result(figure=None):
    return Result("linger_ms", ("linger_ms", "records per batch", "records/s"),
                  [(0, 1.0, 1234.5), (100, 37.25, 20345.0)], "it batches", figure)


def test_the_table_aligns_its_columns_and_ends_with_the_finding():
    lines = table(result()).splitlines()
    assert lines[0].split("  ")[0] == "linger_ms"
    assert set(lines[1]) == {"-", " "}
    assert lines[2].split() == ["0", "1.00", "1,234.5"]
    assert lines[3].split() == ["100", "37.2", "20,345.0"]
    assert len({len(line) for line in lines[:4]}) == 1  # right-aligned to one width
    assert lines[-2:] == ["", "it batches"]


def test_a_row_and_a_column_are_found_by_their_heading():
    assert result().row(100)["records per batch"] == 37.25
    assert result().column("linger_ms") == [0, 100]
    with pytest.raises(KeyError):
        result().row(5)


@pytest.mark.parametrize("bars", [False, True])
def test_the_figure_is_saved_as_a_picture(tmp_path, bars):
    series = {"gzip": [(0, 3.0)], "none": [(0, 9.0)]} if bars else \
        {"records per batch": [(0, 1.0), (5, 4.0), (100, 37.0)]}
    path = tmp_path / "figure.png"
    save_figure(result(Figure("linger_ms", "records per batch", series, bars)), path)
    pixels = image.imread(path)
    assert pixels.shape[0] > 300 and pixels.shape[1] > 500
    assert (pixels[..., :3] < 0.5).any()  # something drawn on the white
