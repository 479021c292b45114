"""Run a command with every core kept busy, as on a shared CI machine: `make test-under-load`.

    python scripts/under_load.py COMMAND [ARGS...]

One busy loop per core (os.cpu_count()), at the command's own priority, for as long as the
command runs; then the loops are stopped and the command's exit status is this one's. The
suite must stay green like this: a test that waits for a state passes, one that races a
clock shows.
"""

import multiprocessing
import os
import subprocess
import sys


def spin():
    while True:
        pass


def main(command):
    hogs = [multiprocessing.Process(target=spin, daemon=True) for _ in range(os.cpu_count() or 1)]
    for hog in hogs:
        hog.start()
    print(f"under_load: {len(hogs)} busy loops, one per core, while: {' '.join(command)}",
          flush=True)
    try:
        return subprocess.run(command).returncode
    except KeyboardInterrupt:
        return 130
    finally:
        for hog in hogs:
            hog.terminate()
        for hog in hogs:
            hog.join()


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit("usage: python scripts/under_load.py COMMAND [ARGS...]")
    sys.exit(main(sys.argv[1:]))
