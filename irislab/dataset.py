"""The iris data set: scikit-learn's bundled copy (no network), or a UCI-style CSV."""

import csv
import importlib.util
from pathlib import Path
from typing import NamedTuple

import numpy as np

from irislab.errors import LabError
from irislab.codec import MAX_CM, MEASUREMENTS
from irislab.layout import SPECIES


class DatasetError(LabError):
    """The CSV cannot be read; the message names the file and line."""


class Iris(NamedTuple):
    features: np.ndarray  # (n, 4) float64, columns in MEASUREMENTS order
    species: np.ndarray   # (n,) species names


def load_iris(csv_path=None):
    if csv_path is not None:
        return read_csv(csv_path)
    return bundled_iris()


def bundled_iris():
    """scikit-learn's copy of iris, read from its data file: the same data as
    sklearn.datasets.load_iris() without importing scikit-learn (over a second)."""
    sklearn = importlib.util.find_spec("sklearn").submodule_search_locations[0]
    path = Path(sklearn) / "datasets" / "data" / "iris.csv"
    with open(path) as f:
        header = next(csv.reader(f))  # rows, columns, then the target names
        data = np.loadtxt(f, delimiter=",")
    target_names = np.array(header[2:])
    return Iris(data[:, :4], target_names[data[:, 4].astype(int)])


def rows(iris, repeat=1):
    """Each row as a record dict; the data set `repeat` times.
    id = pass * (rows in the data set) + the row's index, so ids never repeat.
    The NumPy rows become Python numbers once, up front: converting each field in
    NumpyEncoder.default for every record costs more than encoding the rest."""
    base = [{**dict(zip(MEASUREMENTS, features)), "species": str(species)}
            for features, species in zip(iris.features.tolist(), iris.species)]
    n = len(base)
    for first_id in range(0, repeat * n, n):
        for index, row in enumerate(base, start=first_id):
            yield {"id": index, **row}


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


def read_csv(path):
    """UCI iris.csv: sepal length, sepal width, petal length, petal width, class
    (e.g. Iris-setosa); an optional header line; blank lines are skipped."""
    features, species = [], []
    try:
        with open(path, newline="", encoding="utf-8") as f:
            for lineno, fields in enumerate(csv.reader(f), start=1):
                if not any(cell.strip() for cell in fields):
                    continue
                if lineno == 1 and not _is_number(fields[0]):
                    continue  # a header
                try:
                    if len(fields) != 5:
                        raise ValueError(f"{len(fields)} fields, expected 5")
                    features.append([_length(x) for x in fields[:4]])
                    species.append(_species(fields[4]))
                except ValueError as e:
                    raise DatasetError(f"{path}, line {lineno}: {e}") from None
    except (OSError, UnicodeDecodeError) as e:
        raise DatasetError(f"cannot read {path}: {e}") from None
    if not features:
        raise DatasetError(f"{path} has no iris rows")
    return Iris(np.array(features), np.array(species))


def _is_number(text):
    try:
        float(text)
    except ValueError:
        return False
    return True
