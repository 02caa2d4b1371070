"""DuckDB for tests/it/athena.rs: a CUR 2.0 (or FOCUS) table laid out as the Cloud Intelligence
Dashboards lay it out, and the Athena query run over it. TABLE is `cur2` or `focus`.

  write ROOT LINES.jsonl   line items (one JSON object each, with `source_account_id` and
                           `billing_period`) -> ROOT/source_account_id=A/report_name=cid-cur2/
                           data/billing_period=YYYY-MM/part-00000.parquet; a file has the columns
                           its line items name (so a period can lack a column, as older exports
                           lack line_item_iam_principal); `product`, `resource_tags` and `tags`
                           are Parquet MAP columns
  describe ROOT TABLE      the table's columns as JSON [[name, type], ...]
  query ROOT TABLE SQL     runs the SQL file (already in DuckDB's dialect) against the view
                           "cid_data_export"."TABLE" over ROOT, prints {"header": [...],
                           "rows": [[text or null, ...], ...]}: every value as text, as
                           Athena's GetQueryResults sends them

Needs duckdb from PyPI (2.0.1: scripts/bench-analysis.sh and .ci/run install it into
~/.cache/entitlement-audit/duckdb-venv).
"""

import collections
import json
import os
import sys

import duckdb

TYPES = {
    "line_item_usage_start_date": "TIMESTAMP",
    "line_item_usage_end_date": "TIMESTAMP",
    "line_item_usage_account_id": "VARCHAR",
    "bill_payer_account_id": "VARCHAR",
    "bill_billing_entity": "VARCHAR",
    "line_item_line_item_type": "VARCHAR",
    "line_item_product_code": "VARCHAR",
    "line_item_usage_type": "VARCHAR",
    "line_item_unblended_cost": "DOUBLE",
    "line_item_usage_amount": "DOUBLE",
    "line_item_unblended_rate": "VARCHAR",
    "pricing_public_on_demand_cost": "DOUBLE",
    "pricing_public_on_demand_rate": "VARCHAR",
    "line_item_iam_principal": "VARCHAR",
    "product": "MAP(VARCHAR, VARCHAR)",
    "resource_tags": "MAP(VARCHAR, VARCHAR)",
    "tags": "MAP(VARCHAR, VARCHAR)",
    # FOCUS 1.x, as Data Exports names its columns (Glue lower-cases them in the catalog only)
    "ChargePeriodStart": "TIMESTAMP",
    "SubAccountId": "VARCHAR",
    "ServiceName": "VARCHAR",
    "ChargeCategory": "VARCHAR",
    "x_UsageType": "VARCHAR",
    "BilledCost": "DOUBLE",
    "ConsumedQuantity": "DOUBLE",
    "ListCost": "DOUBLE",
    "Tags": "MAP(VARCHAR, VARCHAR)",
}
PARTITIONS = ("source_account_id", "billing_period")


def write(root, lines_path):
    groups = collections.defaultdict(list)
    with open(lines_path) as f:
        for line in f:
            item = json.loads(line)
            groups[tuple(item[p] for p in PARTITIONS)].append(item)
    con = duckdb.connect()
    for (account, period), items in sorted(groups.items()):
        names = [n for n in TYPES if any(n in i for i in items)]
        unknown = {k for i in items for k in i} - set(TYPES) - set(PARTITIONS)
        if unknown:
            sys.exit(f"unknown columns {sorted(unknown)}")
        folder = os.path.join(
            root,
            f"source_account_id={account}",
            "report_name=cid-cur2",
            "data",
            f"billing_period={period}",
        )
        os.makedirs(folder, exist_ok=True)
        part = os.path.join(folder, "part.jsonl")
        with open(part, "w") as out:
            for i in items:
                out.write(json.dumps({n: i.get(n) for n in names}) + "\n")
        columns = "{" + ", ".join(f"'{n}': '{TYPES[n]}'" for n in names) + "}"
        con.execute(
            f"COPY (SELECT * FROM read_json('{part}', columns={columns}, format='newline_delimited')) "
            f"TO '{os.path.join(folder, 'part-00000.parquet')}' (FORMAT parquet)"
        )
        os.remove(part)


def table(root, name):
    if name not in ("cur2", "focus"):
        sys.exit(f"unknown table {name}")
    con = duckdb.connect()
    con.execute("CREATE SCHEMA cid_data_export")
    glob = os.path.join(root, "*", "*", "data", "*", "*.parquet")
    con.execute(
        f"CREATE VIEW cid_data_export.{name} AS SELECT * FROM "
        f"read_parquet('{glob}', hive_partitioning = true, union_by_name = true)"
    )
    return con


def describe(root, name):
    con = table(root, name)
    cols = con.execute(f"DESCRIBE cid_data_export.{name}").fetchall()
    print(json.dumps([[c[0], c[1]] for c in cols]))


def query(root, name, sql_path):
    con = table(root, name)
    with open(sql_path) as f:
        sql = f.read()
    cur = con.execute(f"SELECT CAST(COLUMNS(*) AS VARCHAR) FROM ({sql}) AS q")
    header = [d[0] for d in cur.description]
    rows = cur.fetchall()
    print(json.dumps({"header": header, "rows": [list(r) for r in rows]}))


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    {"write": write, "describe": describe, "query": query}[cmd](*args)
