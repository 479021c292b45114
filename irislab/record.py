"""The record's contract, declared once: its fields, their ranges, the three species.

A leaf: it imports nothing, and the data set, the codec, the layout and the consumers
import it. The value on the wire is a UTF-8 JSON object, one per iris row,

    {"id": 0, "sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4,
     "petal_width": 0.2, "species": "setosa"}

plus "predicted" (a species) when the producer routes by a model's prediction.
The key is the id as UTF-8 text.
"""

SPECIES = ("setosa", "versicolor", "virginica")

MEASUREMENTS = ("sepal_length", "sepal_width", "petal_length", "petal_width")  # in cm
FIELDS = ("id", *MEASUREMENTS, "species")

MAX_CM = 1000.0     # no flower part is 10 m long: a bigger number is corrupt
MAX_ID = 2**63 - 1  # a 64-bit id
