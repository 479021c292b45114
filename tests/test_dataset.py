"""The data set without a broker: scikit-learn's copy and UCI-style CSVs read with pandas into
the lab's named columns; a bad file is one error naming the file and the line."""

import pytest
from sklearn.datasets import load_iris as sklearn_iris

from irislab.dataset import DatasetError, load_iris, read_csv
from irislab.record import MEASUREMENTS

UCI_ROWS = ["5.1,3.5,1.4,0.2,Iris-setosa", "7.0,3.2,4.7,1.4,Iris-versicolor",
            "6.3,3.3,6.0,2.5,Iris-virginica"]
ROWS = [[5.1, 3.5, 1.4, 0.2, "setosa"], [7.0, 3.2, 4.7, 1.4, "versicolor"],
        [6.3, 3.3, 6.0, 2.5, "virginica"]]


def write_csv(tmp_path, lines):
    path = tmp_path / "iris.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_the_bundled_copy_is_scikit_learns_iris_with_named_columns():
    iris = load_iris()
    assert list(iris.columns) == [*MEASUREMENTS, "species"]
    expected = sklearn_iris()
    assert iris[list(MEASUREMENTS)].to_numpy().tolist() == expected.data.tolist()
    assert iris["species"].tolist() == expected.target_names[expected.target].tolist()


def test_the_labs_header_less_uci_file_is_read_in_order(tmp_path):
    iris = load_iris(write_csv(tmp_path, UCI_ROWS + ["", ""]))  # the UCI file ends in blank lines
    assert list(iris.columns) == [*MEASUREMENTS, "species"]
    assert iris.values.tolist() == ROWS
    assert str(iris["sepal_length"].dtype) == "float64"


def test_a_header_line_and_blank_lines_are_skipped(tmp_path):
    lines = ["sepal_length,sepal_width,petal_length,petal_width,class", UCI_ROWS[0], "",
             "   ", UCI_ROWS[1], UCI_ROWS[2]]
    assert read_csv(write_csv(tmp_path, lines)).values.tolist() == ROWS


def test_species_names_with_or_without_the_iris_prefix_and_spaces(tmp_path):
    lines = [" 5.1, 3.5 ,1.4,0.2, setosa ", '"7.0",3.2,4.7,1.4,"IRIS-VERSICOLOR"']
    assert read_csv(write_csv(tmp_path, lines)).values.tolist() == ROWS[:2]


@pytest.mark.parametrize("lines,error", [
    (UCI_ROWS[:1] + ["4.9,x,1.4,0.2,Iris-setosa"],
     "line 2: could not convert string to float: 'x'"),
    (["sepal_length,sepal_width,petal_length,petal_width,species", UCI_ROWS[0],
      "5.1,3.5,1.4,Iris-setosa"], "line 3: 4 fields, expected 5"),
    (UCI_ROWS[:1] + ["", UCI_ROWS[1] + ",7"], "line 3: 6 fields, expected 5"),
    ([UCI_ROWS[0] + ",7,8"] + UCI_ROWS[1:], "line 1: 7 fields, expected 5"),
    (["", UCI_ROWS[0] + ",7"], "line 2: 6 fields, expected 5"),
    (["5.1"], "line 1: 1 fields, expected 5"),
    (["5.1,3.5,1.4,0.2,Iris-rosa"], "line 1: unknown species 'Iris-rosa'"),
    (["5.1,3.5,1.4,0.2,"], "line 1: unknown species ''"),
    (["5.1,-3.5,1.4,0.2,Iris-setosa"], "line 1: '-3.5' is not a length in cm"),
    (["5.1,nan,1.4,0.2,Iris-setosa"], "line 1: 'nan' is not a length in cm"),
    (UCI_ROWS[:1] + ["5.1,3.5,1400,0.2,Iris-setosa"], "line 2: '1400' is not a length in cm"),
    (["5.1,,1.4,0.2,Iris-setosa"], "line 1: could not convert string to float: ''"),
])
def test_a_bad_row_is_one_error_naming_the_file_and_line(tmp_path, lines, error):
    path = write_csv(tmp_path, lines)
    with pytest.raises(DatasetError) as raised:
        read_csv(path)
    assert str(raised.value) == f"{path}, {error}"


@pytest.mark.parametrize("lines", [[], ["", "  "], ["sepal_length,sepal_width,a,b,c"]])
def test_a_file_without_rows_is_refused(tmp_path, lines):
    path = write_csv(tmp_path, lines)
    with pytest.raises(DatasetError) as raised:
        read_csv(path)
    assert str(raised.value) == f"{path} has no iris rows"


def test_an_empty_file_is_refused(tmp_path):
    path = tmp_path / "iris.csv"
    path.write_bytes(b"")
    with pytest.raises(DatasetError, match="has no iris rows"):
        read_csv(path)


@pytest.mark.parametrize("make", [
    lambda tmp_path: tmp_path / "nosuch.csv",
    lambda tmp_path: tmp_path,  # a folder
    lambda tmp_path: (tmp_path / "latin1.csv", (tmp_path / "latin1.csv").write_bytes(
        b"5.1,3.5,1.4,0.2,Iris-s\xe9tosa\n"))[0],
], ids=["missing", "folder", "not UTF-8"])
def test_an_unreadable_file_is_one_error_naming_it(tmp_path, make):
    path = make(tmp_path)
    with pytest.raises(DatasetError) as raised:
        read_csv(path)
    message = str(raised.value)
    assert message.startswith(f"cannot read {path}: ") and len(message.splitlines()) == 1
