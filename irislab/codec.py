"""One iris record as Kafka bytes, and back.

Value: a UTF-8 JSON object, {"id": 0, "sepal_length": 5.1, ..., "species": "setosa"}
(plus "predicted" when the producer routes by a model's prediction). Key: the id as text.
Decoding never raises: a malformed value comes back as `Malformed(reason)`. It parses with
orjson, which is as strict as the contract needs and five times faster than json.loads; a
number too large for a double, anywhere in the value, makes it malformed.
"""

import json
from typing import NamedTuple

import numpy as np
import orjson
from kafka.serializer import Serializer

from irislab.layout import SPECIES

MEASUREMENTS = ("sepal_length", "sepal_width", "petal_length", "petal_width")
FIELDS = ("id", *MEASUREMENTS, "species")
MAX_VALUE_BYTES = 64 * 1024  # an iris row is ~110 bytes; anything this big is not one
MAX_CM = 1000.0              # no flower part is 10 m long: a bigger number is corrupt
MAX_ID = 2**63 - 1           # a 64-bit id; orjson reads bigger integers as floats anyway


class NumpyEncoder(json.JSONEncoder):
    """json.dumps for NumPy scalars and arrays, which plain json rejects."""

    def default(self, o):
        if isinstance(o, np.integer):
            return int(o)
        if isinstance(o, np.floating):
            return float(o)
        if isinstance(o, np.bool_):
            return bool(o)
        if isinstance(o, np.ndarray):
            return o.tolist()
        return super().default(o)


_ENCODER = NumpyEncoder(allow_nan=False)  # one encoder for every record, not one a call


def encode_value(row):
    """A row (values may be NumPy scalars) as the record's JSON bytes."""
    return _ENCODER.encode(row).encode()


def encode_key(record_id):
    return str(int(record_id)).encode()


class KeySerializer(Serializer):
    """The producer's key_serializer: the id as UTF-8 text."""

    def serialize(self, topic, headers, data):
        return encode_key(data)


class ValueSerializer(Serializer):
    """The producer's value_serializer: the row as JSON, through NumpyEncoder."""

    def serialize(self, topic, headers, data):
        return encode_value(data)


class Malformed(NamedTuple):
    reason: str


def _show(value, limit=40):
    """A bad value for a one-line warning: its repr, cut short."""
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


_FIELD_SET = frozenset(FIELDS)


def decode_value(value):
    """The record's bytes as a row dict, or Malformed(reason). Never raises."""
    if value is None:
        return Malformed("no value (null)")
    if not value:
        return Malformed("empty value")
    if len(value) > MAX_VALUE_BYTES:
        return Malformed(f"value of {len(value)} bytes is too large for an iris row")
    try:
        row = orjson.loads(value)  # strict: UTF-8 only, no NaN/Infinity, nesting bounded
    except orjson.JSONDecodeError as e:
        return Malformed(f"not JSON ({str(e)[:80]})")
    if not isinstance(row, dict):
        return Malformed(f"JSON {type(row).__name__}, not an object")
    if not row.keys() >= _FIELD_SET:
        return Malformed("missing " + ", ".join(f for f in FIELDS if f not in row))
    record_id = row["id"]
    if type(record_id) is not int or not 0 <= record_id <= MAX_ID:
        return Malformed(f"id {_show(record_id)} is not a whole number from 0 to 2**63-1")
    all_floats = True
    for field in MEASUREMENTS:
        x = row[field]
        # the range also rules out NaN and infinities; a huge int compares without overflow
        if type(x) not in (int, float) or not 0 <= x <= MAX_CM:
            return Malformed(f"{field} {_show(x)} is not a length in cm")
        all_floats = all_floats and type(x) is float
    has_predicted = "predicted" in row
    for field in ("species", "predicted"):
        if field in row and row[field] not in SPECIES:
            return Malformed(f"unknown {field} {_show(row[field])}")
    if all_floats and len(row) == len(FIELDS) + has_predicted:
        return row  # already exactly the contract's fields and types: no copy needed
    decoded = {"id": record_id, "sepal_length": float(row["sepal_length"]),
               "sepal_width": float(row["sepal_width"]),
               "petal_length": float(row["petal_length"]),
               "petal_width": float(row["petal_width"]), "species": row["species"]}
    if has_predicted:
        decoded["predicted"] = row["predicted"]
    return decoded
