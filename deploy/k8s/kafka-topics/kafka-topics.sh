#!/bin/sh
# Create the topics listed in topics.txt ("create", the default), or wait until they all exist
# ("wait": init containers run it, so that no process starts before its topics exist; the
# processes would otherwise create missing topics themselves, with
# SYMBIOSIS_KAFKA_REPLICATION_FACTOR replicas, racing this Job).
#
# Environment: BOOTSTRAP (Kafka bootstrap servers), PARTITIONS (= SYMBIOSIS_PARTITIONS),
# REPLICATION_FACTOR (default 3), TOPICS_FILE (default: topics.txt next to this script).
# Logging in (deploy/README.md, "Kafka: TLS and SASL"): SECURITY_PROTOCOL (PLAINTEXT, the
# default, or SASL_SSL), SASL_MECHANISM (default SCRAM-SHA-512; PLAIN for the admin user),
# SASL_USERNAME, SASL_PASSWORD, SSL_CAFILE (PEM; unset: the JVM's CAs). "create" first sets the
# SCRAM-SHA-512 credential of SCRAM_USERNAME to SCRAM_PASSWORD when they are given (the
# applications' user; it needs an admin login). Passwords: letters, digits and . _ ~ + / -
# only (they are quoted in a JAAS line), e.g. `openssl rand -hex 32`.
# Runs in the apache/kafka image (the Kafka tools are in /opt/kafka/bin).
set -eu

mode=${1:-create}
case $mode in create | wait) ;; *) echo "usage: $0 [create|wait]" >&2; exit 2 ;; esac
topics_file=${TOPICS_FILE:-$(dirname "$0")/topics.txt}
rf=${REPLICATION_FACTOR:-3}
bin=${KAFKA_BIN:-/opt/kafka/bin}
: "${BOOTSTRAP:?set BOOTSTRAP to the Kafka bootstrap servers}"
: "${PARTITIONS:?set PARTITIONS to SYMBIOSIS_PARTITIONS}"

check_secret() {  # check_secret NAME VALUE: usable inside a JAAS line and kafka-configs' syntax
    case $2 in
        '' | *[!A-Za-z0-9._~+/-]*)
            echo "$1 must be non-empty, of letters, digits and . _ ~ + / - only" >&2
            exit 2
            ;;
    esac
}

protocol=${SECURITY_PROTOCOL:-PLAINTEXT}
client_config=
case $protocol in
    PLAINTEXT) ;;
    SASL_SSL)
        mechanism=${SASL_MECHANISM:-SCRAM-SHA-512}
        case $mechanism in
            PLAIN) module=org.apache.kafka.common.security.plain.PlainLoginModule ;;
            SCRAM-SHA-256 | SCRAM-SHA-512)
                module=org.apache.kafka.common.security.scram.ScramLoginModule ;;
            *) echo "unsupported SASL_MECHANISM $mechanism" >&2; exit 2 ;;
        esac
        : "${SASL_USERNAME:?set SASL_USERNAME for SASL_SSL}"
        check_secret SASL_USERNAME "$SASL_USERNAME"
        check_secret SASL_PASSWORD "${SASL_PASSWORD:-}"
        # the password goes into a private file that lives as long as this script
        client_config=$(umask 077 && mktemp "${TMPDIR:-/tmp}/kafka-client.XXXXXX")
        trap 'rm -f "$client_config"' EXIT
        trap 'exit 143' TERM  # run the EXIT trap on SIGTERM (a deleted pod) and Ctrl-C too
        trap 'exit 130' INT
        {
            echo "security.protocol=SASL_SSL"
            echo "sasl.mechanism=$mechanism"
            echo "sasl.jaas.config=$module required username=\"$SASL_USERNAME\" password=\"$SASL_PASSWORD\";"
            if [ -n "${SSL_CAFILE:-}" ]; then
                echo "ssl.truststore.type=PEM"
                echo "ssl.truststore.location=$SSL_CAFILE"
            fi
        } >"$client_config"
        ;;
    *) echo "unsupported SECURITY_PROTOCOL $protocol (PLAINTEXT or SASL_SSL)" >&2; exit 2 ;;
esac

kafka() {  # kafka TOOL ARGS...: a Kafka tool, logged in as configured above
    tool=$1
    shift
    if [ -n "$client_config" ]; then
        "$bin/$tool" --command-config "$client_config" "$@"
    else
        "$bin/$tool" "$@"
    fi
}

brokers() {
    kafka kafka-broker-api-versions.sh --bootstrap-server "$BOOTSTRAP" 2>/dev/null \
        | grep -c '(id: ' || true
}

until [ "$(brokers)" -ge "$rf" ]; do
    echo "waiting for $rf brokers at $BOOTSTRAP"
    sleep 5
done

if [ "$mode" = create ] && [ -n "${SCRAM_USERNAME:-}" ]; then
    check_secret SCRAM_USERNAME "$SCRAM_USERNAME"
    check_secret SCRAM_PASSWORD "${SCRAM_PASSWORD:-}"
    kafka kafka-configs.sh --bootstrap-server "$BOOTSTRAP" --alter --entity-type users \
        --entity-name "$SCRAM_USERNAME" --add-config "SCRAM-SHA-512=[password=$SCRAM_PASSWORD]"
    echo "SCRAM-SHA-512 credential of $SCRAM_USERNAME set"
fi

grep -v -e '^[[:space:]]*#' -e '^[[:space:]]*$' "$topics_file" |
    while read -r name partitions configs; do
        if [ "$partitions" = default ]; then
            partitions=$PARTITIONS
        fi
        if [ "$mode" = wait ]; then
            until kafka kafka-topics.sh --bootstrap-server "$BOOTSTRAP" --describe \
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
        kafka kafka-topics.sh "$@"
    done
echo "topics ready ($mode)"
