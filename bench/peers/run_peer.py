"""Run one benchmark peer of the stream worker on the readings topic; print one JSON line.

Peers (see bench/peers/README.md):
  bare  the ceiling: a confluent-kafka Consumer that decodes every record with orjson and
        counts its readings; no state, no output, no commits.
  quix  the alternative a user would pick: a minimal Quix Streams ledger stage with a RocksDB
        state store (changelog on): per stream, each meter's latest value and their sum
        ("available"); one output record per stream batch to an output topic.

Both read the topic from the beginning under a fresh consumer group until they have seen
--readings readings, then print on stdout exactly one line:

  {"peer": "bare"|"quix", "records": int, "readings": int, "seconds": float,
   "records_per_s": float, "readings_per_s": float, "cpu_s": float}

seconds: from the first record in hand to the end of the work on the last one (connecting,
joining the group and the partition assignment are excluded); cpu_s: CPU seconds of this
process (+ children, getrusage) over that same span. If --readings are not seen within
--timeout-s, exits with code 1 and says so on stderr. Runs in .venv-peers (quixstreams pins
pydantic<2.14), e.g.:

  .venv-peers/bin/python bench/peers/run_peer.py bare --bootstrap localhost:9092 \\
      --topic bench.readings --readings 1000000
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import sys
import tempfile
import threading
import time
import uuid
import warnings
from collections.abc import Iterator
from pathlib import Path

import orjson
from peer_logic import Tally, count_readings, ledger_step


def run_bare(args: argparse.Namespace, tally: Tally) -> bool:
    """Count readings with a plain Consumer until ``tally`` is done; False on timeout."""
    from confluent_kafka import Consumer, KafkaError, KafkaException

    deadline = time.monotonic() + args.timeout_s
    consumer = Consumer(
        {
            "bootstrap.servers": args.bootstrap,
            "group.id": args.group,
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,  # no state: a fresh group reads from the start anyway
        }
    )
    try:
        consumer.subscribe([args.topic])
        while not tally.done:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            messages = consumer.consume(num_messages=args.batch, timeout=min(remaining, 1.0))
            if not messages:
                continue
            tally.first()
            for msg in messages:
                error = msg.error()
                if error is not None:
                    if error.code() == KafkaError._PARTITION_EOF:
                        continue
                    raise KafkaException(error)
                tally.readings += count_readings(msg.value())
                tally.records += 1
        tally.last()
        return True
    finally:
        consumer.close()


@contextlib.contextmanager
def state_dir(path: str | None) -> Iterator[str]:
    """``path``, or a temporary directory removed afterwards."""
    if path is not None:
        Path(path).mkdir(parents=True, exist_ok=True)
        yield path
        return
    with tempfile.TemporaryDirectory(prefix="peer-quix-state-") as tmp:
        yield tmp


def run_quix(args: argparse.Namespace, tally: Tally) -> bool:
    """Run the minimal Quix ledger stage until ``tally`` is done; False on timeout."""
    # importing it makes authlib (under confluent-kafka's schema registry) warn about httpx
    with warnings.catch_warnings(record=True):
        from quixstreams import Application

    def on_processed(topic: str, partition: int, offset: int) -> None:
        # after the whole dataframe ran for the record (state written, outputs produced)
        if tally.done and tally.t_last is None:
            tally.last()
            app.stop()  # run() returns after this record (and a final checkpoint commit)

    def on_timeout() -> None:
        app.stop()

    deadline = time.monotonic() + args.timeout_s
    connected = False  # topics may exist on the broker from here on
    try:
        with state_dir(args.state_dir) as directory:
            app = Application(
                broker_address=args.bootstrap,
                consumer_group=args.group,
                auto_offset_reset="earliest",
                state_dir=directory,
                on_message_processed=on_processed,
                loglevel="WARNING",
                request_timeout=min(30.0, args.timeout_s),  # Quix's admin calls (default 30 s)
            )
            input_topic = app.topic(args.topic)  # JSON values, keys as bytes
            connected = True
            sdf = app.dataframe(input_topic)
            sdf = sdf.apply(  # one row per stream batch
                functools.partial(ledger_step, tally=tally), stateful=True, expand=True
            )
            sdf.to_topic(app.topic(args.output_topic))  # keyed by the input record's key
            timer = threading.Timer(max(deadline - time.monotonic(), 0.0), on_timeout)
            timer.daemon = True
            timer.start()
            try:
                app.run()  # blocks until app.stop()
            finally:
                timer.cancel()
    finally:
        if connected and not args.keep_topics:
            delete_quix_topics(args)
    return tally.t_last is not None  # set once done; a timeout stops the app before


def delete_quix_topics(args: argparse.Namespace) -> None:
    """Delete the run's changelog topics and, unless named by --output-topic, its output topic
    (a fresh group per run would otherwise leave topics behind on every run)."""
    from confluent_kafka import KafkaException
    from confluent_kafka.admin import AdminClient

    admin = AdminClient({"bootstrap.servers": args.bootstrap})
    try:
        existing = admin.list_topics(timeout=10).topics
    except KafkaException as e:
        print(f"run_peer quix: could not list topics to clean up: {e}", file=sys.stderr)
        return
    names = [n for n in existing if n.startswith(f"changelog__{args.group}--")]
    if args.output_topic_is_default and args.output_topic in existing:
        names.append(args.output_topic)
    if not names:
        return
    for name, future in admin.delete_topics(names, operation_timeout=30).items():
        try:
            future.result(timeout=60)
        except KafkaException as e:
            print(f"run_peer quix: could not delete topic {name}: {e}", file=sys.stderr)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line (see the module docstring)."""
    ap = argparse.ArgumentParser(
        prog="run_peer.py",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ap.add_argument("peer", choices=["bare", "quix"], help="which peer to run")
    ap.add_argument("--bootstrap", required=True, metavar="HOST:PORT", help="Kafka bootstrap")
    ap.add_argument("--topic", required=True, help="the readings topic to read")
    ap.add_argument(
        "--readings", type=int, required=True, metavar="N",
        help="stop once N readings are seen (pass every reading on the topic to read it all)",
    )  # fmt: skip
    ap.add_argument("--group", help="consumer group (default: a fresh peer-<peer>-<uuid>)")
    ap.add_argument(
        "--output-topic",
        help="quix: topic of the output records (default: <group>-out, created by Quix and "
        "deleted after the run)",
    )
    ap.add_argument(
        "--timeout-s", type=float, default=600.0, metavar="S",
        help="give up (exit code 1) if N readings are not seen within S s of starting "
        "(default: %(default)s)",
    )  # fmt: skip
    ap.add_argument(
        "--state-dir", metavar="D",
        help="quix: RocksDB state directory (default: a temporary one, removed afterwards)",
    )  # fmt: skip
    ap.add_argument(
        "--batch", type=int, default=1000, metavar="M",
        help="bare: messages per consume() call (default: %(default)s)",
    )  # fmt: skip
    ap.add_argument(
        "--keep-topics", action="store_true",
        help="quix: keep the run's changelog topic (and the default output topic)",
    )  # fmt: skip
    args = ap.parse_args(argv)
    if args.readings <= 0:
        ap.error("--readings must be positive")
    if args.timeout_s <= 0:
        ap.error("--timeout-s must be positive")
    if args.batch <= 0:
        ap.error("--batch must be positive")
    args.group = args.group or f"peer-{args.peer}-{uuid.uuid4().hex}"
    args.output_topic_is_default = args.output_topic is None
    args.output_topic = args.output_topic or f"{args.group}-out"
    return args


def main(argv: list[str] | None = None) -> int:
    """Run the peer; print its JSON line; 0 when done, 1 on timeout."""
    args = parse_args(argv)
    tally = Tally(target=args.readings)
    out = sys.stdout
    with contextlib.redirect_stdout(sys.stderr):  # stdout carries the JSON line alone
        done = (run_bare if args.peer == "bare" else run_quix)(args, tally)
    if not done:
        print(
            f"run_peer {args.peer}: timed out after {args.timeout_s:g} s: saw {tally.readings:,} "
            f"of {args.readings:,} readings ({tally.records:,} records) on {args.topic!r}",
            file=sys.stderr,
        )
        return 1
    out.write(orjson.dumps(tally.result(args.peer)).decode() + "\n")
    out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
