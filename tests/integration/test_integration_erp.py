"""``symbiosis import`` of a 100,000-row ERP export on the real stack: the company's sites read
from the registry on Kafka, offers stored, bad rows reported by line and rejected with their
reason, progress shown."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import psycopg
import pytest
import yaml

from domain.errors import ErpImportError
from ingest.api import tokens
from ingest.erp.samples import COMPANY, MAPPING, expected_bad_field, sample_park, write_erp_file
from ingest.erp.sites import sites_in_registry
from ingest.registry_publisher import RegistryPublisher
from runtime.settings import Settings
from schemas.registry import Park
from schemas.rejections import Rejection
from sinks.consumer import Sink
from tests.helpers import consume_all, isolated, scalar, wait_for
from topics.kafka_admin import ensure_topics

pytestmark = pytest.mark.integration

ROWS = 100_000


def register_sample_park(settings: Settings) -> None:
    """Publish the sample exports' sites (all :data:`COMPANY`'s) to the registry topics."""
    publisher = RegistryPublisher(settings.kafka_bootstrap, settings.topics)
    try:
        publisher.park(Park.model_validate(sample_park()))
        publisher.flush()
    finally:
        publisher.close()


def test_the_company_sites_are_read_from_the_registry(stack: Settings) -> None:
    settings = isolated(stack, "erp-sites")
    ensure_topics(settings.kafka_bootstrap, settings.topics.configs(), settings.partitions)
    with pytest.raises(ErpImportError, match=f"company {COMPANY!r} has no site in the registry"):
        sites_in_registry(settings, COMPANY)
    register_sample_park(settings)
    assert sites_in_registry(settings, COMPANY) == {"board-plant", "kiln-2", "sawmill-north"}
    with pytest.raises(ErpImportError, match="company 'other-co' has no site in the registry"):
        sites_in_registry(settings, "other-co")


def test_a_100k_row_export_is_stored_except_its_bad_rows(stack: Settings, tmp_path: Path) -> None:
    settings = isolated(stack, "erp", sink_flush_s=0.2)
    topics = settings.topics
    ensure_topics(settings.kafka_bootstrap, topics.configs(), settings.partitions)
    register_sample_park(settings)  # the import checks every row's site against the registry

    export = tmp_path / "stock.csv"
    bad_lines = write_erp_file(export, ROWS, "csv", bad_every=997)
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text(yaml.safe_dump(MAPPING))
    report = tmp_path / "bad.csv"

    with psycopg.connect(settings.database_url, autocommit=True) as conn:
        own, rival = (tokens.issue(conn, c, label="erp test") for c in (COMPANY, "rival-co"))
    command = [
        str(Path(sys.executable).parent / "symbiosis"), "import", str(export),
        "--mapping", str(mapping), "--company", COMPANY, "--errors", str(report),
    ]  # fmt: skip
    env = {**os.environ, **settings.child_env()}
    refused = subprocess.run(
        command, env={**env, "SYMBIOSIS_TOKEN": rival}, capture_output=True, text=True,
        timeout=120, check=False,
    )  # fmt: skip
    assert refused.returncode == 2, refused.stderr[-2000:]  # another company's token
    assert f"the token is 'rival-co''s, not {COMPANY!r}'s" in refused.stderr

    sink = Sink(settings)
    thread = threading.Thread(target=sink.run, daemon=True)
    thread.start()
    try:
        done = subprocess.run(
            [*command, "--token", own], env=env, capture_output=True, text=True,
            timeout=600, check=False,
        )  # fmt: skip
        assert done.returncode == 1, done.stderr[-3000:]  # some rows were bad
        summary = json.loads(done.stdout.strip().splitlines()[-1])
        good = ROWS - len(bad_lines)
        review = summary.pop("needs_review")
        assert isinstance(review, int)
        assert 0 <= review < good  # published all the same
        assert summary == {
            "file": str(export), "rows": ROWS, "offers": good, "rejected": len(bad_lines),
            "published": good, "dry_run": False,
        }  # fmt: skip
        progress = [ln for ln in done.stderr.splitlines() if ln.startswith("importing stock.csv")]
        assert len(progress) >= 5, done.stderr[:2000]  # one line per tenth of the file
        assert progress[-1].endswith(f"{ROWS:,} rows")
        assert "stock.csv: encoding utf-8 (detected" in done.stderr
        assert "delimiter ',' (detected" in done.stderr

        with report.open() as f:
            listed = list(csv.DictReader(f))
        reported = [r for r in listed if not r["reason"].startswith("needs review:")]
        assert len(listed) - len(reported) == review  # every row to review is listed too
        assert [int(r["line"]) for r in reported] == bad_lines
        assert [r["field"] for r in reported] == [
            expected_bad_field(k) for k in range(len(bad_lines))
        ]

        wait_for(
            lambda: scalar(settings, "SELECT count(*) FROM offers") >= good, 120, "offers stored"
        )
        assert scalar(settings, "SELECT count(*) FROM offers") == good
        classified = (
            "SELECT count(*) FROM offers WHERE payload->'classification'->>'method' = 'classifier'"
        )
        assert scalar(settings, classified) > 0  # rows without EWC codes were classified
    finally:
        sink.stop()
        thread.join(60)
    rejected = [
        Rejection.model_validate_json(v)
        for v in consume_all(settings, topics.rejected, len(bad_lines), timeout_s=30)
    ]
    assert sorted(int(r.source.rsplit(":", 1)[1]) for r in rejected) == bad_lines
