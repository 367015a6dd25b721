#!/usr/bin/env python3
"""The fleet queries of docs/fleet.md ("Events and findings in a data lake"), run on mailir's
Hive-partitioned datasets by Spark (local mode) or DuckDB; prints the answers as one JSON
object on stdout.

    fleet_queries.py --engine spark|duckdb --events DIR [--findings DIR] [--min-hosts N]

EVENTS is `mailir parse INPUT... --format parquet --partition host,day --out DIR`, FINDINGS
`mailir detect INPUT... --format parquet --partition host --out DIR`. The SQL text below is
the same for both engines (only how the two datasets become the views `events` and
`findings` differs) and is copied verbatim into docs/fleet.md; tests/data_lake.rs runs this
script with both engines and checks their answers against each other and against mailir's
own. Partition values are read as text on both (Spark would otherwise turn a host named
`01` into the number 1).
"""

import argparse
import json
import sys

# (a) Addresses refused a login on at least MIN_HOSTS hosts: by hosts, then refusals. A
# refusal is the service's (`auth_failure`) or the authentication backend's
# (`auth_backend_failure`): where Postfix asks the IMAP host's Dovecot to check passwords, the
# IMAP host sees the MX's guesses only as its backend's refusals.
TOP_ATTACKER_SOURCES = """
SELECT src_ip,
       COUNT(DISTINCT host) AS hosts,
       COUNT(*)             AS failures
FROM events
WHERE kind IN ('auth_failure', 'auth_backend_failure') AND src_ip IS NOT NULL
GROUP BY src_ip
HAVING COUNT(DISTINCT host) >= {min_hosts}
ORDER BY hosts DESC, failures DESC, src_ip
"""

# (b) Accounts that logged in on at least MIN_HOSTS hosts, compared as mailir's
# fleet.shared_account compares them (the name without its domain, case folded). A login is
# an `auth_success`, or a message submitted under a login (`message_received` with an
# `actor`: Postfix logs no line of its own for a SASL login that worked).
SHARED_ACCOUNTS = """
SELECT lower(CASE WHEN instr(actor, '@') > 0
                  THEN substr(actor, 1, instr(actor, '@') - 1)
                  ELSE actor END) AS account,
       COUNT(DISTINCT host)       AS hosts,
       COUNT(*)                   AS logins
FROM events
WHERE actor IS NOT NULL AND kind IN ('auth_success', 'message_received')
GROUP BY 1
HAVING COUNT(DISTINCT host) >= {min_hosts}
ORDER BY hosts DESC, logins DESC, account
"""

# (b2) Addresses that logged in (as in (b)) on at least MIN_HOSTS hosts: where a stolen
# login that never failed shows, beside the owners' own.
SHARED_LOGIN_SOURCES = """
SELECT src_ip,
       COUNT(DISTINCT host)  AS hosts,
       COUNT(DISTINCT actor) AS accounts,
       COUNT(*)              AS logins
FROM events
WHERE actor IS NOT NULL AND src_ip IS NOT NULL
  AND kind IN ('auth_success', 'message_received')
GROUP BY src_ip
HAVING COUNT(DISTINCT host) >= {min_hosts}
ORDER BY hosts DESC, logins DESC, src_ip
"""

# (c) Events per host and day.
EVENTS_PER_HOST_DAY = """
SELECT host, day, COUNT(*) AS events
FROM events
GROUP BY host, day
ORDER BY host, day
"""

# (d) mailir's cross-host findings, one row per finding and host (the findings dataset).
FLEET_FINDINGS = """
SELECT host, rule, severity, ips, users
FROM findings
WHERE rule LIKE 'fleet.%'
ORDER BY host, rule, first_seen_us, title
"""


def spark_session():
    import os

    from pyspark.sql import SparkSession

    # Local mode needs no network: keep the driver off the machine's interfaces.
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")

    spark = (
        SparkSession.builder.master("local[2]")
        .appName("mailir-fleet-queries")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.driver.memory", "1g")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.sources.partitionColumnTypeInference.enabled", "false")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def run_spark(args, queries):
    spark = spark_session()
    try:
        spark.read.parquet(args.events).createOrReplaceTempView("events")
        if args.findings:
            spark.read.parquet(args.findings).createOrReplaceTempView("findings")
        out = {}
        for name, sql in queries.items():
            out[name] = [row.asDict(recursive=True) for row in spark.sql(sql).collect()]
        for view in ["events", "findings"] if args.findings else ["events"]:
            out[view + "_schema"] = [
                {"column": f.name, "type": f.dataType.simpleString()}
                for f in spark.table(view).schema.fields
            ]
        return out
    finally:
        spark.stop()


def run_duckdb(args, queries):
    import duckdb

    con = duckdb.connect()

    def view(name, folder):
        glob = folder.rstrip("/") + "/**/*.parquet"
        con.execute(
            f"CREATE VIEW {name} AS SELECT * FROM read_parquet("
            f"'{glob}', hive_partitioning = true, hive_types_autocast = false)"
        )

    view("events", args.events)
    if args.findings:
        view("findings", args.findings)
    out = {}
    for name, sql in queries.items():
        cur = con.execute(sql)
        cols = [d[0] for d in cur.description]
        out[name] = [dict(zip(cols, row)) for row in cur.fetchall()]
    for view in ["events", "findings"] if args.findings else ["events"]:
        out[view + "_schema"] = [
            {"column": r[0], "type": r[1]} for r in con.execute(f"DESCRIBE {view}").fetchall()
        ]
    return out


def plain(v):
    """JSON-ready values: lists sorted (their order is not the query's), numbers as int."""
    if isinstance(v, (list, tuple)):
        return sorted(plain(x) for x in v)
    if isinstance(v, bool) or v is None or isinstance(v, str):
        return v
    if isinstance(v, int):
        return v
    try:
        return int(v)
    except (TypeError, ValueError):
        return str(v)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--engine", choices=["spark", "duckdb"], required=True)
    p.add_argument("--events", required=True)
    p.add_argument("--findings")
    p.add_argument("--min-hosts", type=int, default=2)
    args = p.parse_args()
    queries = {
        "top_attacker_sources": TOP_ATTACKER_SOURCES.format(min_hosts=args.min_hosts),
        "shared_accounts": SHARED_ACCOUNTS.format(min_hosts=args.min_hosts),
        "shared_login_sources": SHARED_LOGIN_SOURCES.format(min_hosts=args.min_hosts),
        "events_per_host_day": EVENTS_PER_HOST_DAY,
    }
    if args.findings:
        queries["fleet_findings"] = FLEET_FINDINGS
    run = run_spark if args.engine == "spark" else run_duckdb
    answers = run(args, queries)
    doc = {
        "engine": args.engine,
        **{
            name: [{k: plain(v) for k, v in row.items()} for row in rows]
            for name, rows in answers.items()
        },
    }
    json.dump(doc, sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
