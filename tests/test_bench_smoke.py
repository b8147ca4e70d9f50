"""`make bench` keeps working: its harness in a tiny run (`bench/run.py --quick`) starts its own
emulator, Celery worker and gunicorn, and writes every benchmark's JSON. Timings are not
asserted; the bench measures, tests do not."""

import json
import os

from tests.support import ROOT, python_run


def test_quick_bench_writes_every_benchmark(tmp_path):
    env = {
        **os.environ,
        # Its own database and queue, apart from `make bench` and other test runs.
        "PORTAL_TEST_RUN": os.environ.get("PORTAL_TEST_RUN", "") + "smoke",
    }
    env.pop("DJANGO_SETTINGS_MODULE", None)
    done = python_run(
        [str(ROOT / "bench" / "run.py"), "--quick", "--out", str(tmp_path)], env=env, timeout=240
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]

    def load(name: str) -> dict:
        return json.loads((tmp_path / name).read_text())

    summary = load("summary.json")
    assert {"measured_at", "machine", "config", "table"} <= summary.keys()
    assert {"cpu", "cores", "python"} <= summary["machine"].keys()
    assert summary["table"]
    for row in summary["table"]:
        assert set(row) == {"benchmark", "portal", "floor", "ratio", "target", "met"}

    provisioning = load("provisioning.json")
    assert provisioning["direct_runs"].keys() == provisioning["portal"].keys()
    assert {"grants_per_second", "seconds", "aws_calls_per_grant"} <= provisioning["direct"].keys()
    assert provisioning["portal"]
    for figures in provisioning["portal"].values():
        assert {"workers", "grants", "seconds", "ratio_to_direct", "aws_calls_per_grant"} <= (
            figures.keys()
        )

    credentials = load("credentials.json")
    assert {"portal", "direct", "ratio_median", "ratio_p95"} <= credentials.keys()
    assert {"median_ms", "p95_ms", "calls"} <= credentials["portal"].keys()

    api_reads = load("api_reads.json")
    assert len(api_reads["cases"]) == 2
    for case in api_reads["cases"].values():
        assert {"api", "floor", "ratio_to_floor"} <= case.keys()
        assert {"requests_per_second", "p95_ms"} <= case["api"].keys()

    # SPEC 10.7's keys; the quick run's sizes are 100 and 400 requests (make bench: 1000, 100000).
    scale = load("scale.json")
    assert {
        "expiry_sweep_seconds",
        "drift_sweep_seconds",
        "drift_aws_calls_per_grant",
        "list_p95_ms",
        "detail_p95_ms",
    } <= scale.keys()
    assert scale["list_p95_ms"].keys() == scale["detail_p95_ms"].keys() == {"100", "400"}
    # The world the bench built is the one it measured: every grant swept, none drifted, each
    # expired by the one sweep.
    world = scale["world"]
    assert world["grants_checked_by_the_drift_sweep"] == world["active_grants"] > 0
    assert world["grants_expired_by_the_sweep"] == world["active_grants"]
    assert world["drifted_found"] == 0

    assert "ops_per_second" in load("evaluator.json")
    assert "Machine:" in done.stdout
