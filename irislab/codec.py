"""One iris record's bytes, decoded for the consumers.

The record's contract (fields, ranges, species) is declared in irislab.record; here it
becomes the msgspec Struct `IrisRecord`, into which msgspec decodes the JSON straight, checking
every type, range and species in the same call, in C. Decoding never raises: a malformed value
comes back as `Malformed(reason)`, the reason naming the field and what was wrong with it.
(The producer writes the records with its NumpyEncoder, in producer1.py.)
"""

from typing import Annotated, Literal, NamedTuple

import msgspec
from kafka.serializer import Deserializer

from irislab.record import FIELDS, MAX_CM, MAX_ID, MEASUREMENTS, SPECIES

MAX_VALUE_BYTES = 64 * 1024  # an iris row is ~110 bytes; anything this big is not one

Species = Literal[SPECIES]  # the record's three species, as a type msgspec checks
Cm = Annotated[float, msgspec.Meta(ge=0, le=MAX_CM)]  # a JSON int is accepted, read as a float


class IrisRecord(msgspec.Struct, forbid_unknown_fields=True, frozen=True, cache_hash=True,
                 gc=False):
    """The record's contract. A field of another type is refused, never coerced (an id of
    7.0 or "7", a length of "5.1" or true); NaN and Infinity are not JSON. Unknown fields
    are refused here only to be looked at on the slow path (decode_record), which accepts
    them if they are plain JSON. A record is a value: frozen, equal to any record with the
    same fields, and hashed once (the consumers count records by it). (gc=False: scalars
    only, nothing for the garbage collector to track.)"""
    id: Annotated[int, msgspec.Meta(ge=0, le=MAX_ID)]
    sepal_length: Cm
    sepal_width: Cm
    petal_length: Cm
    petal_width: Cm
    species: Species
    # only when the producer routes by prediction; JSON null is refused, as the type says
    predicted: Species = None


class _WithExtras(IrisRecord, forbid_unknown_fields=False):
    """The same contract, skipping fields it does not know (after the slow path checked them)."""


class Malformed(NamedTuple):
    reason: str


_decode = msgspec.json.Decoder(IrisRecord).decode
_decode_with_extras = msgspec.json.Decoder(_WithExtras).decode
_decode_any = msgspec.json.Decoder().decode


def decode_record(value):
    """The record's bytes as an IrisRecord, or Malformed(reason). Never raises."""
    try:
        return _decode(value)  # one call in C: parse, check every field, build the record
    except Exception:  # noqa: BLE001 -- whatever msgspec refuses, refused() says why
        return refused(value)


# How many distinct values a deserializer remembers: the lab sends 150, again and again
# with --repeat; a stream of all-different values stops being remembered here (~2 MB)
REMEMBERED_VALUES = 10_000


class RecordDeserializer(Deserializer):
    """The consumers' value_deserializer: each value as an IrisRecord, or Malformed(reason).
    A value seen before is looked up, not decoded again, and gives the same record, whose
    hash is already known: a --repeat run sends the data set's 150 values over and over."""

    def __init__(self):
        self.decoded = {}  # value bytes -> IrisRecord, up to REMEMBERED_VALUES of them

    def deserialize(self, topic, headers, data):  # this runs once per record read
        record = self.decoded.get(data)
        if record is None:
            try:  # decode_record's body, inlined
                record = _decode(data)
            except Exception:  # noqa: BLE001
                return refused(data)
            if len(self.decoded) < REMEMBERED_VALUES:
                self.decoded[data] = record
        return record


def refused(value):
    """Why the fast decoder refused a value, as Malformed(reason) (or the record: see explain)."""
    if value is None:
        return Malformed("no value (null)")
    if not value:
        return Malformed("empty value")
    if len(value) > MAX_VALUE_BYTES:  # not looked into: it cannot be an iris row
        return Malformed(f"value of {len(value)} bytes is too large for an iris row")
    return explain(value)


def decode_value(value):
    """The record's bytes as a row dict (the contract's fields), or Malformed(reason)."""
    record = decode_record(value)
    if type(record) is Malformed:
        return record
    row = msgspec.structs.asdict(record)
    if row["predicted"] is None:
        del row["predicted"]
    return row


# -- the slow path: only for values the fast decoder refused ---------------------------------

def _show(value, limit=40):
    """A bad value for a one-line warning: its repr, cut short."""
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


FIELD_RULES = {"id": "is not a whole number from 0 to 2**63-1",
               **dict.fromkeys(MEASUREMENTS, "is not a length in cm")}
FIELD_TYPES = {field: IrisRecord.__annotations__[field] for field in FIELD_RULES}


def _too_big_for_a_double(value):
    """The first number in a JSON value that a double cannot hold (msgspec reads such
    integers as Python ints), else None."""
    if type(value) is int:
        try:
            float(value)
        except OverflowError:
            return value
    elif type(value) is list:
        for item in value:
            if (found := _too_big_for_a_double(item)) is not None:
                return found
    elif type(value) is dict:
        for item in value.values():
            if (found := _too_big_for_a_double(item)) is not None:
                return found
    return None


def _why(error):
    """msgspec's message, one line, without the `- at $...` path it adds."""
    text = str(error).splitlines()[0].split(" - at `")[0]
    return "a number too large for a double" if text.endswith("out of range") else text[:80]


def explain(value):
    """Why the fast decoder refused a value, as Malformed(reason); or the record, when all it
    had more than the contract is fields the contract does not know, holding plain JSON."""
    if value[:3] == b"\xef\xbb\xbf":
        return Malformed("not JSON (starts with a UTF-8 byte order mark)")
    try:
        row = _decode_any(value)  # strict UTF-8, no NaN or Infinity, no number beyond a double
    except RecursionError:
        return Malformed("not JSON (nested too deeply)")
    except UnicodeDecodeError as e:
        return Malformed(f"not JSON (not valid UTF-8: {e.reason})")
    except msgspec.DecodeError as e:
        return Malformed(f"not JSON ({_why(e)})")
    if not isinstance(row, dict):
        return Malformed(f"JSON {type(row).__name__}, not an object")
    missing = [field for field in FIELDS if field not in row]
    if missing:
        return Malformed("missing " + ", ".join(missing))
    for field in ("species", "predicted"):
        if field in row and row[field] not in SPECIES:
            return Malformed(f"unknown {field} {_show(row[field])}")
    for field, rule in FIELD_RULES.items():
        try:
            msgspec.convert(row[field], FIELD_TYPES[field])
        except msgspec.ValidationError as e:
            return Malformed(f"{field} {_show(row[field])} {rule} ({_why(e)})")
    extra = {key: x for key, x in row.items() if key not in IrisRecord.__struct_fields__}
    if (big := _too_big_for_a_double(extra)) is not None:
        return Malformed(f"number {_show(big)} is too large for a double")
    try:
        return _decode_with_extras(value)
    except Exception as e:  # noqa: BLE001 -- a case the checks above missed: still one line
        return Malformed(str(e).splitlines()[0][:120])
