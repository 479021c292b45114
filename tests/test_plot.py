"""The sepal plot's own data, without a broker: each species drawn in the lab's colour, at
its own points, with its count in the legend."""

import matplotlib
import pytest
from matplotlib.colors import to_rgb

from irislab.plot import draw_sepals, pyplot
from tests.lab import COLOURS

pytestmark = pytest.mark.unit

SEPALS = {"setosa": ([(5.1, 3.5), (4.9, 3.0)], 3),
          "versicolor": ([], 0),
          "virginica": ([(6.3, 3.3)], 1)}


def test_each_species_is_drawn_in_its_colour_at_its_points():
    matplotlib.use("Agg")
    fig, ax = pyplot(False).subplots()
    draw_sepals(ax, SEPALS)
    drawn = {collection.get_label(): collection for collection in ax.collections}
    assert sorted(drawn) == ["setosa (3)", "virginica (1)"]  # none for an empty species
    for label, collection in drawn.items():
        species = label.split()[0]
        assert tuple(to_rgb(collection.get_facecolor()[0])) == pytest.approx(COLOURS[species])
        assert sorted(map(tuple, collection.get_offsets().tolist())) == sorted(SEPALS[species][0])
    assert ax.get_title() == "Iris sepals: 4 records read from Kafka"
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("sepal length (cm)", "sepal width (cm)")
