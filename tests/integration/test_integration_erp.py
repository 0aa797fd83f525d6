"""``symbiosis import`` of a 100,000-row ERP export on the real stack: offers stored, bad rows
reported by line and rejected with their reason, progress shown."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import yaml

from ingest.erp.samples import MAPPING, expected_bad_field, write_erp_file
from runtime.settings import Settings
from schemas.rejections import Rejection
from sinks.consumer import Sink
from tests.helpers import consume_all, isolated, scalar, wait_for
from topics.kafka_admin import ensure_topics

pytestmark = pytest.mark.integration

ROWS = 100_000


def test_a_100k_row_export_is_stored_except_its_bad_rows(stack: Settings, tmp_path: Path) -> None:
    settings = isolated(stack, "erp", sink_flush_s=0.2)
    topics = settings.topics
    ensure_topics(settings.kafka_bootstrap, topics.configs(), settings.partitions)

    export = tmp_path / "stock.csv"
    bad_lines = write_erp_file(export, ROWS, "csv", bad_every=997)
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text(yaml.safe_dump(MAPPING))
    report = tmp_path / "bad.csv"

    sink = Sink(settings)
    thread = threading.Thread(target=sink.run, daemon=True)
    thread.start()
    try:
        done = subprocess.run(
            [str(Path(sys.executable).parent / "symbiosis"), "import", str(export),
             "--mapping", str(mapping), "--errors", str(report)],
            env={**os.environ, **settings.child_env()}, capture_output=True, text=True,
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
