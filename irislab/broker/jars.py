"""Which Apache Kafka each mode runs, its jars from Maven Central, and the java command.

The jars come once (see kafka-*/pom.xml) into jars/<mode> beside this file; later starts
reuse them and work offline.
"""

import re
import shutil
import subprocess
import sys
from pathlib import Path

from irislab.errors import BrokerError

# Everything the runner needs to start Kafka sits in this package's folder, beside its code:
# the POMs pinning each mode's Kafka (kafka-3.9/, kafka-4/), the config templates (config/)
# and the jars Maven fetches (jars/, ignored by git). One `broker` folder, found from here
# whatever the current folder, without reaching up into the project.
HERE = Path(__file__).resolve().parent
CONFIG = HERE / "config"
JARS = HERE / "jars"

HEAP = "-Xmx512m"

# mode -> the POM that pins its Kafka version, its server.properties template and what
# --security sasl-ssl adds to it, how it logs
MODES = {
    "zookeeper": {"pom": HERE / "kafka-3.9" / "pom.xml",
                  "server": "server-zookeeper.properties",
                  "sasl-ssl": "sasl-ssl-zookeeper.properties",
                  "logging": "-Dlog4j.configuration=file:" + str(CONFIG / "log4j.properties")},
    "kraft": {"pom": HERE / "kafka-4" / "pom.xml",
              "server": "server-kraft.properties",
              "sasl-ssl": "sasl-ssl-kraft.properties",
              "logging": "-Dlog4j2.configurationFile=" + str(CONFIG / "log4j2.properties")},
}


def kafka_version(mode):
    """The Kafka version the mode's POM pins."""
    pom = MODES[mode]["pom"].read_text()
    return re.search(r"<kafka\.version>(.+?)</kafka\.version>", pom).group(1)


def jars_dir(mode):
    return JARS / mode


def fetch_jars(mode):
    """Copy the mode's jars from Maven Central into jars/<mode>, once."""
    folder = jars_dir(mode)
    done = folder / ".complete"
    if done.exists() and done.read_text() == kafka_version(mode):
        return folder
    # looked for first, so that a missing Maven is named, not a bare "No such file"
    if shutil.which("mvn") is None:
        raise BrokerError("mvn not found on PATH: install Maven to fetch the Kafka jars once "
                          "(Debian: apt-get install maven)")
    print(f"Fetching Apache Kafka {kafka_version(mode)} jars with Maven into {folder} ...",
          file=sys.stderr)
    try:
        result = subprocess.run(["mvn", "-B", "-f", str(MODES[mode]["pom"]),
                                 "dependency:copy-dependencies"], capture_output=True, text=True)
    except OSError as e:
        raise BrokerError(f"could not run Maven to fetch the Kafka jars: {e}") from None
    if result.returncode != 0:
        raise BrokerError("Maven could not fetch the Kafka jars:\n"
                          + "\n".join(result.stdout.splitlines()[-15:]))
    done.write_text(kafka_version(mode))
    return folder


def java(mode, main, *args):
    """The command line that runs a Kafka (or ZooKeeper) main class from the mode's jars."""
    # checked before the jars are fetched and any process spawned: Popen would only raise
    # "No such file or directory: 'java'"
    if shutil.which("java") is None:
        raise BrokerError("java not found on PATH: install a JDK 17 "
                          "(Debian: apt-get install openjdk-17-jdk-headless)")
    return ["java", HEAP, "-Djava.awt.headless=true", MODES[mode]["logging"],
            "-cp", str(fetch_jars(mode) / "*"), main, *map(str, args)]
