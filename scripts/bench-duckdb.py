#!/usr/bin/env python3
"""Runs the storage_dataset benchmark's queries in DuckDB over the same Parquet files, for comparison.

    python3 -m venv /tmp/duckdb-venv && /tmp/duckdb-venv/bin/pip install duckdb
    /tmp/duckdb-venv/bin/python scripts/bench-duckdb.py DIR

DIR is the data directory the benchmark printed; `DIR/queries.json` holds the queries it timed. Each query runs
once to warm the caches, then 9 times; the median is printed, as the benchmark does.
"""
import json
import statistics
import sys
import time

import duckdb

RUNS = 9


def main(data_dir):
    with open(f"{data_dir}/queries.json") as f:
        queries = json.load(f)
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute(
        f"CREATE VIEW logs AS SELECT * FROM read_parquet('{data_dir}/logs/**/*.parquet', hive_partitioning = false)"
    )
    threads = con.execute("SELECT current_setting('threads')").fetchone()[0]
    print(f"duckdb {duckdb.__version__}, {threads} threads")
    for query in queries:
        rows = len(con.execute(query["sql"]).fetchall())
        times = []
        for _ in range(RUNS):
            started = time.perf_counter()
            con.execute(query["sql"]).fetchall()
            times.append(time.perf_counter() - started)
        print(f"query {query['name']}: median {statistics.median(times) * 1000:.1f} ms over {RUNS} runs, {rows} rows")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: bench-duckdb.py DATA_DIR")
    main(sys.argv[1])
