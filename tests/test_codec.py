"""The codec without a broker: every iris row the producer writes survives the round trip, and
decode_value turns any bytes at all into a row or Malformed(reason) -- never raises."""

import json
import math

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from irislab import codec
from irislab.codec import MAX_VALUE_BYTES, Malformed, RecordDeserializer, decode_value
from irislab.dataset import load_iris
from irislab.record import FIELDS, MAX_CM, MEASUREMENTS, SPECIES
from producer1 import flower_values

pytestmark = pytest.mark.unit


def fuzz(max_examples):
    """max_examples under make test (Hypothesis profile "thorough"); make test-fast's profile
    "fast" runs a tenth of them. Either way the same examples on every run, no example
    database and no per-example deadline: see the profiles in conftest.py."""
    share = settings.default.max_examples / settings.get_profile("thorough").max_examples
    return settings(max_examples=max(10, round(max_examples * share)))


VALID = {"id": 0, "sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4,
         "petal_width": 0.2, "species": "setosa"}


def check_decoded(result):
    """What decode_value may return: a one-line reason, or exactly the contract's row."""
    if isinstance(result, Malformed):
        assert isinstance(result.reason, str) and result.reason.strip()
        assert len(result.reason.splitlines()) == 1, result.reason
        return
    assert type(result) is dict
    assert set(result) in (set(FIELDS), {*FIELDS, "predicted"})
    assert type(result["id"]) is int and result["id"] >= 0
    for field in MEASUREMENTS:
        x = result[field]
        assert type(x) is float and math.isfinite(x) and 0 <= x <= MAX_CM
    assert result["species"] in SPECIES
    assert result.get("predicted", "setosa") in SPECIES


def as_json(row):
    """A row as JSON bytes, written by plain json (not the producer's encoder)."""
    return json.dumps(row).encode()


# -- round trip of the data set -------------------------------------------------------------

def test_every_record_the_producer_writes_round_trips():
    iris = load_iris()
    features = iris[list(MEASUREMENTS)].to_numpy()
    decoded = [decode_value(value)
               for value in flower_values(features, iris["species"].to_numpy())]
    assert len(decoded) == 150
    for i, row in enumerate(decoded):
        assert row == {"id": i, **dict(zip(MEASUREMENTS, features[i].tolist())),
                       "species": iris["species"][i]}
        check_decoded(row)
    assert sorted(r["species"] for r in decoded) == sorted(SPECIES * 50)


def test_a_predicted_species_survives_the_round_trip():
    assert decode_value(as_json({**VALID, "predicted": "versicolor"})) == {
        **VALID, "predicted": "versicolor"}


def test_the_deserializer_decodes_a_value_seen_before_to_an_equal_record(monkeypatch):
    """Values it remembers are looked up; past the bound it decodes each one as it comes.
    Either way a record equals, and hashes as, the same value decoded anew."""
    monkeypatch.setattr(codec, "REMEMBERED_VALUES", 2)
    deserializer = RecordDeserializer()
    values = [as_json({**VALID, "id": i}) for i in range(4)]
    first = [deserializer.deserialize("versicolor", [], bytes(v)) for v in values]
    again = [deserializer.deserialize("versicolor", [], bytes(v)) for v in values]
    assert len(deserializer.decoded) == 2
    assert again[:2] == first[:2] and again[0] is first[0]  # remembered: the same record
    for value, one, other in zip(values, first, again):
        assert one == other and hash(one) == hash(other) == hash(codec.decode_record(value))
        assert decode_value(value) == {**VALID, "id": one.id}
    assert [r.id for r in first] == [0, 1, 2, 3]
    bad = b'{"id": -1}'
    assert deserializer.deserialize("versicolor", [], bad) == Malformed("missing sepal_length, "
        "sepal_width, petal_length, petal_width, species")
    assert deserializer.deserialize("versicolor", [], bad) == deserializer.deserialize(
        "versicolor", [], bad)  # refused each time, with its reason
    assert deserializer.deserialize("versicolor", [], None) == Malformed("no value (null)")


def test_the_contract_example_decodes():
    text = ('{"id": 0, "sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4,\n'
            ' "petal_width": 0.2, "species": "setosa"}')
    assert decode_value(text.encode()) == VALID


def with_value(field, text):
    return json.dumps({**VALID, field: None}).replace(f'"{field}": null', f'"{field}": {text}')


BAD_VALUES = {
    "null": None, "empty": b"", "not JSON": b"hello iris", "not UTF-8": b'{"id": "\xff"}',
    "array": b"[1, 2]", "number": b"42", "string": b'"setosa"', "JSON null": b"null",
    "truncated": as_json(VALID)[:30], "BOM": b"\xef\xbb\xbf" + as_json(VALID),
    "missing field": json.dumps({k: v for k, v in VALID.items() if k != "petal_width"}).encode(),
    "too large": b" " * (MAX_VALUE_BYTES + 1), "nested": b"[" * 10000,
    "5000 digits": with_value("sepal_length", "9" * 5000).encode(),
    **{f"{field} {text if len(text) < 20 else f'{len(text)} digits'}":
       with_value(field, text).encode() for field, text in [
        ("id", '"7"'), ("id", "-1"), ("id", "7.0"), ("id", "true"), ("id", "null"),
        ("sepal_length", '"5.1"'), ("sepal_length", "true"), ("sepal_length", "NaN"),
        ("sepal_width", "Infinity"), ("petal_length", "-Infinity"), ("petal_length", "1e400"),
        ("petal_width", "1" * 400), ("petal_width", "-0.2"), ("petal_width", "1000.5"),
        ("petal_width", '{"cm": 0.2}'), ("petal_width", "[0.2]"), ("species", '"rose"'),
        ("species", '"Setosa"'), ("species", "0"), ("species", "null"), ("species", '["setosa"]'),
        ("predicted", '"rose"')]},
}


@pytest.mark.parametrize("value", BAD_VALUES.values(), ids=BAD_VALUES.keys())
def test_a_bad_value_is_malformed_with_a_one_line_reason(value):
    result = decode_value(value)
    assert isinstance(result, Malformed)
    check_decoded(result)


# -- decode_value never raises, whatever the bytes ------------------------------------------

@fuzz(2000)
@given(st.binary(max_size=300))
def test_any_bytes_decode_to_a_row_or_malformed(value):
    check_decoded(decode_value(value))


def mutations(data):
    """A valid record with some bytes replaced, inserted or cut off."""
    value = bytearray(as_json(VALID))
    for _ in range(data.draw(st.integers(1, 4))):
        at = data.draw(st.integers(0, len(value)))
        change = data.draw(st.sampled_from(("replace", "insert", "truncate")))
        junk = data.draw(st.binary(min_size=1, max_size=4))
        if change == "replace":
            value[at:at + len(junk)] = junk
        elif change == "insert":
            value[at:at] = junk
        else:
            del value[at:]
    return bytes(value)


@fuzz(1000)
@given(st.data())
def test_damaged_records_decode_to_a_row_or_malformed(data):
    check_decoded(decode_value(mutations(data)))


def huge_ints():
    # up to 1000 digits: far beyond what a float holds (float() of one raises OverflowError)
    return st.builds(lambda sign, digits: sign * 10 ** digits,
                     st.sampled_from((1, -1)), st.integers(0, 1000))


json_scalars = (st.none() | st.booleans() | st.integers() | huge_ints()
                | st.floats(allow_nan=True, allow_infinity=True) | st.text()
                | st.sampled_from(SPECIES) | st.sampled_from(("Setosa", "", "rose")))
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=5)
    | st.dictionaries(st.sampled_from(FIELDS) | st.text(max_size=8), inner, max_size=6),
    max_leaves=8)


@fuzz(500)
@given(json_values)
def test_any_json_decodes_to_a_row_or_malformed(value):
    # json.dumps writes NaN and Infinity too: tokens JSON does not allow
    check_decoded(decode_value(json.dumps(value).encode()))


@fuzz(200)
@given(st.integers(1, 5000), st.sampled_from(("[", "{\"a\":")))
def test_deep_nesting_decodes_to_malformed(depth, opener):
    closer = "]" if opener == "[" else "}"
    value = (opener * depth + "1" + closer * depth).encode()
    assert isinstance(decode_value(value), Malformed)
    nested_field = {**VALID, "sepal_length": json.loads(value) if depth < 500 else None}
    check_decoded(decode_value(json.dumps(nested_field).encode()))


def is_iris_row(row):
    """The contract, written out independently of the codec."""
    def number(x):
        return type(x) in (int, float)
    return (type(row["id"]) is int and 0 <= row["id"] < 2**63
            and all(number(row[f]) and 0 <= row[f] <= MAX_CM  # NaN and inf fail too
                    for f in MEASUREMENTS)
            and row["species"] in SPECIES and row.get("predicted", "setosa") in SPECIES)


def is_strict_json(value):
    """False when json.dumps had to write NaN or Infinity, which JSON does not allow, or a
    number too large for a double (json.dumps writes any int), which the decoder refuses."""
    try:
        json.dumps(value, allow_nan=False)
    except ValueError:
        return False
    return fits_doubles(value)


def fits_doubles(value):
    if type(value) is int:
        try:
            float(value)
        except OverflowError:
            return False
    elif isinstance(value, list):
        return all(map(fits_doubles, value))
    elif isinstance(value, dict):
        return all(map(fits_doubles, value.values()))
    return True


def field_values(field):
    if field == "id":
        good = st.integers(min_value=0) | huge_ints().map(abs)
    elif field in MEASUREMENTS:
        good = st.floats(0, MAX_CM) | st.integers(0, int(MAX_CM))
    else:
        good = st.sampled_from(SPECIES)
    return good | json_values


@fuzz(1000)
@example({**VALID, "sepal_length": 10 ** 400})  # float() of it raises OverflowError
@example({**VALID, "petal_width": -10 ** 400})
@example({**VALID, "id": 10 ** 400})
@example({**VALID, "sepal_width": float("nan")})
@example({**VALID, "predicted": "virginica", "extra": [VALID]})
@example({**VALID, "extra": 2 * 10 ** 308})  # a valid row, but a number beyond a double
@given(st.fixed_dictionaries({f: field_values(f) for f in FIELDS},
                             optional={"predicted": field_values("predicted"),
                                       "extra": json_values}))
def test_a_record_with_every_field_decodes_exactly_when_its_values_are_valid(row):
    text = json.dumps(row)
    result = decode_value(text.encode())
    check_decoded(result)
    if is_strict_json(row) and is_iris_row(row):
        assert result == {f: row[f] for f in FIELDS if f in row} | (
            {"predicted": row["predicted"]} if "predicted" in row else {})
    else:
        assert isinstance(result, Malformed), row
