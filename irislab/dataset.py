"""The iris data set as a pandas DataFrame, as the lab loaded it: scikit-learn's bundled copy
(no network), or a UCI-style CSV read with pandas.read_csv.

Either way the frame has the lab's named columns, the four measurements in cm (float64) and
the species (setosa, versicolor, virginica), one row per flower, in the file's order.
"""

import importlib.util
import re
from pathlib import Path

import pandas

from irislab.errors import DatasetError
from irislab.record import MAX_CM, MEASUREMENTS, SPECIES

COLUMNS = (*MEASUREMENTS, "species")


def load_iris(csv_path=None):
    if csv_path is not None:
        return read_csv(csv_path)
    return bundled_iris()


def bundled_iris():
    """scikit-learn's copy of iris, read from its data file: the same data as
    sklearn.datasets.load_iris() without importing scikit-learn (over a second)."""
    sklearn = importlib.util.find_spec("sklearn").submodule_search_locations[0]
    path = Path(sklearn) / "datasets" / "data" / "iris.csv"
    # its first line: rows, columns, then the species; each row's class is their index
    with open(path) as f:
        species = f.readline().strip().split(",")[2:]
        iris = pandas.read_csv(f, names=[*MEASUREMENTS, "class"], header=None,
                               float_precision="round_trip")  # exactly Python's float()
    iris["species"] = [species[i] for i in iris.pop("class")]
    return iris


def read_csv(path):
    """UCI iris.csv: sepal length, sepal width, petal length, petal width, class
    (e.g. Iris-setosa); an optional header line; blank lines are skipped. Every value is
    checked before anything is sent, so a bad file is one line naming the file and line."""
    try:
        # strings as they are written (None where a line is short), one row per line
        # (blank ones too, so that row i is line i + 1), to check each before using it
        text = pandas.read_csv(path, names=COLUMNS, header=None, dtype=str, engine="python",
                               keep_default_na=False, skip_blank_lines=False, encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise DatasetError(f"cannot read {path}: {e}") from None
    except pandas.errors.EmptyDataError:
        raise DatasetError(f"{path} has no iris rows") from None
    except pandas.errors.ParserError as e:
        raise DatasetError(_parser_error(path, e)) from None
    if not isinstance(text.index, pandas.RangeIndex):
        # pandas takes the fields a first line has beyond the names as the row's index
        raise DatasetError(f"{path}, line 1: {len(COLUMNS) + text.index.nlevels} fields, "
                           f"expected {len(COLUMNS)}")

    features, species = [], []
    for index, fields in enumerate(text.itertuples(index=False, name=None)):
        lineno = index + 1
        given = [cell for cell in fields if cell is not None]
        if not any(cell.strip() for cell in given):
            continue
        if lineno == 1 and not _is_number(fields[0]):
            continue  # a header
        try:
            if len(given) != len(COLUMNS):
                raise ValueError(f"{len(given)} fields, expected {len(COLUMNS)}")
            features.append([_length(x) for x in fields[:4]])
            species.append(_species(fields[4]))
        except ValueError as e:
            raise DatasetError(f"{path}, line {lineno}: {e}") from None
    if not features:
        raise DatasetError(f"{path} has no iris rows")
    iris = pandas.DataFrame(features, columns=MEASUREMENTS)
    iris["species"] = species
    return iris


def _parser_error(path, error):
    """pandas' 'Expected 5 fields in line 3, saw 6' in our words, else its own."""
    found = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(error))
    if found:
        expected, lineno, saw = found.groups()
        return f"{path}, line {lineno}: {saw} fields, expected {expected}"
    return f"cannot read {path}: {str(error).strip().splitlines()[-1]}"


def _species(label):
    name = label.strip().lower().removeprefix("iris-")
    if name not in SPECIES:
        raise ValueError(f"unknown species {label.strip()!r}")
    return name


def _length(text):
    x = float(text)
    # the record contract's range (NaN fails it too): a row the consumers would refuse
    # is refused here, before anything is sent
    if not 0 <= x <= MAX_CM:
        raise ValueError(f"{text.strip()!r} is not a length in cm")
    return x


def _is_number(text):
    try:
        float(text)
    except ValueError:
        return False
    return True
