"""Polling until a deadline: ask a question again until it holds, or time is up."""

import time


def wait_until(predicate, timeout, interval=0.2, retry_on=()):
    """Call predicate() every `interval` s until it returns true; return the seconds that
    took. An exception of a type in `retry_on` counts as "not yet" (a broker in the middle
    of a failover may refuse a request). Raises TimeoutError after `timeout` s."""
    started = time.monotonic()
    while True:
        try:
            if predicate():
                return time.monotonic() - started
        except retry_on:
            pass
        if time.monotonic() - started > timeout:
            raise TimeoutError(f"not within {timeout} s")
        time.sleep(interval)
