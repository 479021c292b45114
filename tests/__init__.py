"""irislab's tests: unit tests (marked unit, no broker) and integration tests on real brokers."""
