"""The progress bar of long runs (--summary on a terminal): records, rate, and with a known
total the time left, on stderr, so that stdout stays the lab's output."""

import sys

from tqdm import tqdm


def progress_bar(total=None):
    """A tqdm bar on stderr, or None when stderr is not a terminal (a log file, a pipe)."""
    if not sys.stderr.isatty():
        return None
    return tqdm(total=total, unit=" records", unit_scale=True, file=sys.stderr,
                dynamic_ncols=True, leave=False)
