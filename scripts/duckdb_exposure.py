"""The peer measurement of scripts/bench-analysis.sh: DuckDB's core exposure join over a snapshot.

Every usage row of the window (its product named as Cost Explorer names it: the license's
product name and " (Amazon Bedrock Edition)") against the ACTIVE account grants and
per-account sub-grants of its product's licenses, each from the day of its first activation
event (from the start when no event dates it): the spend of rows no such grant covers that
day is the public-price exposure. It reads the grants' status on the snapshot's date, no
status timelines, no history and writes no report, so it is the core of the job's work, not
all of it, and its exposure is close to the job's, not equal.

    python3 scripts/duckdb_exposure.py SNAPSHOT_DIR [RUNS]

Prints "seconds exposure_usd exposed_rows": the median wall time of RUNS (5) runs of the
query, Parquet read included, with DuckDB limited to the machine's cores.
"""
import json
import os
import statistics
import sys
import time

import duckdb

QUERY = """
WITH activated AS (
    SELECT grant_arn, min(CAST(time AS TIMESTAMP))::DATE AS day
    FROM read_parquet($events) WHERE kind = 'activated' GROUP BY grant_arn
), covered AS (
    SELECT l.product_name AS product, g.grantee_id AS account_id,
           min(coalesce(a.day, DATE '1970-01-01')) AS since
    FROM read_parquet($grants) g
    JOIN read_parquet($licenses) l ON g.license_arn = l.arn
    LEFT JOIN activated a ON a.grant_arn = g.arn
    WHERE g.status = 'ACTIVE' AND g.grantee_kind = 'account'
    GROUP BY ALL
)
SELECT coalesce(sum(u.cost_usd), 0), count(*)
FROM read_parquet($usage) u
LEFT JOIN covered c
  ON c.product = regexp_replace(u.product, ' \\(Amazon Bedrock Edition\\)$', '')
 AND c.account_id = u.account_id
WHERE u.date BETWEEN CAST($start AS DATE) AND CAST($end AS DATE)
  AND (c.account_id IS NULL OR u.date < c.since) AND u.cost_usd > 0
"""


def main():
    snap = sys.argv[1]
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    with open(os.path.join(snap, "manifest.json")) as f:
        manifest = json.load(f)
    params = {
        "grants": os.path.join(snap, "grants.parquet"),
        "licenses": os.path.join(snap, "licenses.parquet"),
        "usage": os.path.join(snap, "usage.parquet"),
        "events": os.path.join(snap, "grant_events.parquet"),
        "start": manifest["period_start"],
        "end": manifest["period_end"],
    }
    con = duckdb.connect()
    con.execute(f"SET threads = {os.cpu_count()}")
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        exposure, rows = con.execute(QUERY, params).fetchone()
        times.append(time.perf_counter() - t)
    print(f"{statistics.median(times):.3f} {exposure:.2f} {rows}")


if __name__ == "__main__":
    main()
