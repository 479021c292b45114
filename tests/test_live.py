"""consumer.py --role all --live: the sepal plot fills in while the records stream, in a
window under a real X server (Xvfb) and, without a display, in the plot file."""

import hashlib
import os
import shutil
import subprocess
import time

import matplotlib.image
import numpy as np
import pytest
from PIL import ImageGrab

from tests.lab import (BEFORE_THE_PRODUCER_MS, COLOURS, READING_LINE, colour_pixels, consume,
                       records, reset_topics, start_consumer, start_producer, wait_for)


def live_consumer(kafka, plot, env):
    return start_consumer(kafka.bootstrap, "all", "--live", "--timeout-ms",
                          BEFORE_THE_PRODUCER_MS, "--plot-file", plot, env=env)


def headless():
    return {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}


def test_without_a_display_the_plot_file_fills_in_and_ends_as_without_live(kafka, tmp_path):
    reset_topics(kafka.bootstrap)
    plot = tmp_path / "live.png"
    consumer = live_consumer(kafka, plot, headless())
    consumer.wait_for_line(READING_LINE)
    assert not plot.exists()  # empty axes are not drawn into the file
    # a 7.5 s stream: the file, rewritten about once a second, changes several times during
    # it, even when a busy machine stretches the rewrites
    producer = start_producer(kafka.bootstrap, "--delay", "0.05")
    versions = set()  # the file's contents seen while the records stream
    while producer.poll() is None:
        if plot.exists():
            versions.add(hashlib.sha256(plot.read_bytes()).hexdigest())
        time.sleep(0.2)
    assert producer.returncode == 0, producer.err
    out, err = consumer.communicate(timeout=60)
    assert consumer.returncode == 0, err
    assert len(records(out)) == 150
    assert len(versions) >= 3  # rewritten while the stream went on, not only at the end

    still = tmp_path / "still.png"
    consume(kafka.bootstrap, "all", "--exit-at-end", "--plot-file", still, env=headless())
    live_image, still_image = (matplotlib.image.imread(p) for p in (plot, still))
    assert np.array_equal(live_image, still_image)
    assert all(n > 200 for n in colour_pixels(plot).values())


@pytest.fixture
def x_display():
    """A real X server of the test's own (Xvfb), on a display number it picks itself."""
    if not shutil.which("Xvfb"):
        pytest.fail("Xvfb is missing (Debian: apt-get install xvfb)")
    read, write = os.pipe()
    server = subprocess.Popen(["Xvfb", "-displayfd", str(write), "-screen", "0", "1024x768x24",
                               "-nolisten", "tcp"], pass_fds=[write], stderr=subprocess.DEVNULL)
    os.close(write)
    with os.fdopen(read) as pipe:
        display = ":" + pipe.readline().strip()
    yield display
    server.terminate()
    server.wait(timeout=10)


def screen_colours(display):
    """Pixels of each species' colour on the whole X screen."""
    screen = np.asarray(ImageGrab.grab(xdisplay=display).convert("RGB")).astype(int)
    return {species: int(np.all(np.abs(screen - np.array(rgb) * 255) < 6, axis=-1).sum())
            for species, rgb in COLOURS.items()}


def test_with_a_display_a_window_shows_the_points_as_they_arrive(kafka, tmp_path, x_display):
    reset_topics(kafka.bootstrap)
    env = {**headless(), "DISPLAY": x_display}
    plot = tmp_path / "live.png"
    assert sum(screen_colours(x_display).values()) == 0  # an empty screen to start with
    consumer = live_consumer(kafka, plot, env)
    consumer.wait_for_line(READING_LINE)
    producer = start_producer(kafka.bootstrap, "--delay", "0.1")
    # mid-stream: setosa (the first 50 rows) and some versicolor have arrived; the window
    # shows two species' colours at the next redraw (every 0.5 s), while the producer still
    # sends: 90 rows more, 9 s, however slowly a busy machine redraws
    consumer.wait_for_line(r"^topic=", count=60, timeout=60)
    wait_for(lambda: sum(n > 100 for n in screen_colours(x_display).values()) >= 2, 10,
             lambda: f"two species' colours on the screen: {screen_colours(x_display)}")
    assert producer.poll() is None, "the producer ended before the screen showed the points"
    _, err = producer.communicate(timeout=60)
    assert producer.returncode == 0, err
    out, err = consumer.communicate(timeout=60)
    assert consumer.returncode == 0, err
    assert "warning" not in err
    assert len(records(out)) == 150
    assert all(n > 200 for n in colour_pixels(plot).values())
