"""The iris data set: scikit-learn's bundled copy (no network), or a UCI-style CSV."""

import csv
import math
from typing import NamedTuple

import numpy as np

from irislab import LabError
from irislab.codec import MEASUREMENTS
from irislab.layout import SPECIES


class DatasetError(LabError):
    """The CSV cannot be read; the message names the file and line."""


class Iris(NamedTuple):
    features: np.ndarray  # (n, 4) float64, columns in MEASUREMENTS order
    species: np.ndarray   # (n,) species names


def load_iris(csv_path=None):
    if csv_path is not None:
        return read_csv(csv_path)
    from sklearn.datasets import load_iris as sklearn_iris  # bundled with scikit-learn
    bunch = sklearn_iris()
    return Iris(bunch.data, bunch.target_names[bunch.target])


def rows(iris, repeat=1):
    """Each row as a record dict, values still NumPy scalars; the data set `repeat` times.
    id = pass * (rows in the data set) + the row's index, so ids never repeat."""
    n = len(iris.species)
    for first_id in range(0, repeat * n, n):
        for index, (features, species) in enumerate(zip(iris.features, iris.species)):
            yield {"id": np.int64(first_id + index), **dict(zip(MEASUREMENTS, features)),
                   "species": str(species)}


def _species(label):
    name = label.strip().lower().removeprefix("iris-")
    if name not in SPECIES:
        raise ValueError(f"unknown species {label.strip()!r}")
    return name


def _length(text):
    x = float(text)
    if not math.isfinite(x) or x < 0:
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
