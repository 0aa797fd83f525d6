#!/bin/sh
# Create the topics listed in topics.txt ("create", the default), or wait until they all exist
# ("wait": init containers run it, so that no process starts before its topics exist; the API,
# the MQTT bridge and faust would otherwise create missing topics with replication factor 1,
# which min.insync.replicas=2 then refuses to write to).
#
# Environment: BOOTSTRAP (Kafka bootstrap servers), PARTITIONS (= SYMBIOSIS_PARTITIONS),
# REPLICATION_FACTOR (default 3), TOPICS_FILE (default: topics.txt next to this script).
# Runs in the apache/kafka image (the Kafka tools are in /opt/kafka/bin).
set -eu

mode=${1:-create}
case $mode in create | wait) ;; *) echo "usage: $0 [create|wait]" >&2; exit 2 ;; esac
topics_file=${TOPICS_FILE:-$(dirname "$0")/topics.txt}
rf=${REPLICATION_FACTOR:-3}
bin=${KAFKA_BIN:-/opt/kafka/bin}
: "${BOOTSTRAP:?set BOOTSTRAP to the Kafka bootstrap servers}"
: "${PARTITIONS:?set PARTITIONS to SYMBIOSIS_PARTITIONS}"

brokers() {
    "$bin/kafka-broker-api-versions.sh" --bootstrap-server "$BOOTSTRAP" 2>/dev/null \
        | grep -c '(id: ' || true
}

until [ "$(brokers)" -ge "$rf" ]; do
    echo "waiting for $rf brokers at $BOOTSTRAP"
    sleep 5
done

grep -v -e '^[[:space:]]*#' -e '^[[:space:]]*$' "$topics_file" |
    while read -r name partitions configs; do
        if [ "$partitions" = default ]; then
            partitions=$PARTITIONS
        fi
        if [ "$mode" = wait ]; then
            until "$bin/kafka-topics.sh" --bootstrap-server "$BOOTSTRAP" --describe \
                --topic "$name" >/dev/null 2>&1; do
                echo "waiting for topic $name"
                sleep 5
            done
            continue
        fi
        set -- --bootstrap-server "$BOOTSTRAP" --create --if-not-exists --topic "$name" \
            --partitions "$partitions" --replication-factor "$rf"
        for config in $(echo "${configs:--}" | tr ',' ' '); do
            if [ "$config" != - ]; then
                set -- "$@" --config "$config"
            fi
        done
        "$bin/kafka-topics.sh" "$@"
    done
echo "topics ready ($mode)"
