"""irislab: the iris data set streamed through Apache Kafka, as in the lab."""
