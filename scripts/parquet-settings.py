#!/usr/bin/env python3
"""Measures what Parquet writer settings do to the stored size of the logs table, and what they cost.

Rewrites the logs of a sightline data directory (the storage_dataset benchmark's, say) the way compaction does --
all files of an hour partition merged into one file sorted by service_name, then timestamp -- once per setting,
with pyarrow, and prints for each: bytes per record (total and the biggest columns), the CPU time of the writes
per record, and the median time of the benchmark's queries (DIR/queries.json) over the rewritten files in DuckDB
and, when the `datafusion` package is installed, in DataFusion.

    python3 -m venv /tmp/pq-venv && /tmp/pq-venv/bin/pip install pyarrow duckdb datafusion
    /tmp/pq-venv/bin/python scripts/parquet-settings.py DIR OUT [--hours N] [--queries-only] [SETTING...]

OUT receives one data directory per setting (OUT/<setting>/logs/...); SETTING picks some of SETTINGS by name
(all of them by default); --hours N rewrites only the first N hour partitions (the slow levels take ~100 µs per
record); --queries-only times the queries over the files an earlier run left in OUT.

pyarrow writes through the same libzstd as the parquet crate and gives the same sizes within 0.3 % (26.54
against 26.48 bytes/record for a compacted hour of the benchmark). One difference: pyarrow has one data page size
and one dictionary page size for all columns where the parquet crate can set them per column (see the comment on
NOW). "no-parsed-twice" is not a setting: it drops the attributes the raw line already holds, to show what that
would save. "body-references" rewrites the bodies as compacted logs files store them since: each attribute value
a body holds replaced by a reference to the attribute (DuckDB and pyarrow's DataFusion then read those references
as they are, without expanding them as sightline does).
"""
import glob
import json
import os
import statistics
import sys
import time

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

MIB = 1 << 20
TIMES = {"timestamp": "DELTA_BINARY_PACKED", "observed_timestamp": "DELTA_BINARY_PACKED"}
# What compaction wrote before: zstd 9, delta-encoded times, everything else dictionary-first, 1 MiB pages.
BEFORE = {"codec": "zstd", "level": 9, "encodings": TIMES, "plain": [], "page": MIB, "dictionary": MIB}
# What it writes now (storage/src/files.rs): the same, with no dictionary for the body and dictionaries of up to
# 16 MiB, so that the attribute values keep theirs. (The parquet crate sets that limit for the attribute values
# alone; the other dictionary columns of these logs never reach 1 MiB, so it makes no difference here.)
NOW = {**BEFORE, "plain": ["body"], "dictionary": 16 * MIB}
BODY_DELTA = {**TIMES, "body": "DELTA_BYTE_ARRAY"}
SETTINGS = {
    "before": BEFORE,
    "before-zstd12": {**BEFORE, "level": 12},
    "before-zstd15": {**BEFORE, "level": 15},
    "before-zstd19": {**BEFORE, "level": 19},
    "body-plain": {**BEFORE, "plain": ["body"]},
    "body-delta": {**BEFORE, "encodings": BODY_DELTA},
    "body-pages-16MiB": {**BEFORE, "page": 16 * MIB},
    "dictionaries-16MiB": {**BEFORE, "dictionary": 16 * MIB},
    "now": NOW,
    "now-body-delta-16MiB-pages": {**NOW, "encodings": BODY_DELTA, "page": 16 * MIB},
    "now-zstd12": {**NOW, "level": 12},
    "now-zstd19": {**NOW, "level": 19},
    "now-brotli11": {**NOW, "codec": "brotli", "level": 11},
    "now-no-parsed-twice": {**NOW, "drop_parsed": True},
    "now-zstd12-no-parsed-twice": {**NOW, "level": 12, "drop_parsed": True},
    "now-body-delta-no-parsed-twice": {**NOW, "encodings": BODY_DELTA, "page": 16 * MIB, "drop_parsed": True},
    # What compaction writes now (storage/src/files/body_references.rs): values of 3 characters or more.
    "now-body-references": {**NOW, "body_references": 3},
    "now-body-references-2": {**NOW, "body_references": 2},
}
COLUMNS = ["body", "attributes.key_value.value", "observed_timestamp", "timestamp"]
RUNS = 9


def leaf_columns(schema):
    for field in schema:
        if pa.types.is_map(field.type):
            yield f"{field.name}.key_value.key"
            yield f"{field.name}.key_value.value"
        else:
            yield field.name


def hour_partitions(data_dir):
    return sorted(glob.glob(f"{data_dir}/logs/date=*/hour=*"))


def compacted(partition):
    """All rows of a partition in compaction's order."""
    files = sorted(glob.glob(f"{partition}/*.parquet"))
    table = pa.concat_tables([pq.read_table(f) for f in files])
    return table.sort_by([("service_name", "ascending"), ("timestamp", "ascending")])


def without_parsed_fields(table):
    """The attributes minus those an nginx parser copies out of the raw line (all but log.file.name)."""
    attributes = table.column("attributes").combine_chunks()
    keep = pc.equal(attributes.keys, "log.file.name")
    # Every record has exactly one log.file.name attribute (checked), so the kept offsets are 0, 1, 2, ...
    if pc.sum(keep).as_py() != len(table):
        sys.exit("without_parsed_fields expects one log.file.name attribute per record")
    offsets = pa.array(range(len(table) + 1), pa.int32())
    kept = pa.MapArray.from_arrays(offsets, attributes.keys.filter(keep), attributes.items.filter(keep),
                                   type=attributes.type)
    index = table.schema.get_field_index("attributes")
    return table.set_column(index, table.schema.field("attributes"), kept)


REFERENCE = "\x1a"


def with_body_references(table, shortest):
    """The bodies with each attribute value they hold (the first place it occurs, `shortest` characters or
    more) replaced by a reference to that attribute: REFERENCE and the attribute's position as one character
    from '0'; a REFERENCE of the body itself is doubled."""
    bodies = table.column("body").to_pylist()
    attributes = table.column("attributes").to_pylist()
    referenced = []
    for body, entries in zip(bodies, attributes):
        if body is None:
            referenced.append(None)
            continue
        taken = []
        for position, (_, value) in enumerate(entries or []):
            if value is None or len(value) < shortest or REFERENCE in value or position > 63:
                continue
            start = body.find(value)
            while start != -1 and any(start < end and start + len(value) > begin for begin, end, _ in taken):
                start = body.find(value, start + 1)
            if start != -1:
                taken.append((start, start + len(value), position))
        taken.sort()
        pieces, at = [], 0
        for begin, end, position in taken:
            pieces.append(body[at:begin].replace(REFERENCE, REFERENCE * 2))
            pieces.append(REFERENCE + chr(0x30 + position))
            at = end
        pieces.append(body[at:].replace(REFERENCE, REFERENCE * 2))
        referenced.append("".join(pieces))
    index = table.schema.get_field_index("body")
    return table.set_column(index, table.schema.field("body"), pa.array(referenced, pa.string()))


def write(table, path, setting):
    encodings = setting["encodings"]
    plain = set(encodings) | set(setting["plain"])
    dictionary = [c for c in leaf_columns(table.schema) if c not in plain]
    started = time.process_time()
    pq.write_table(
        table, path,
        compression=setting["codec"], compression_level=setting["level"],
        use_dictionary=dictionary, column_encoding=encodings,
        data_page_size=setting["page"], dictionary_pagesize_limit=setting["dictionary"],
        max_rows_per_page=setting.get("rows_per_page", 20_000),  # the parquet crate's default
        row_group_size=1024 * 1024,  # the parquet crate's default: one row group per hour of this data
        write_page_index=True,
        sorting_columns=[pq.SortingColumn(table.schema.get_field_index("service_name")), pq.SortingColumn(0)],
    )
    return time.process_time() - started


def column_bytes(path):
    metadata = pq.ParquetFile(path).metadata
    sizes = {}
    for g in range(metadata.num_row_groups):
        group = metadata.row_group(g)
        for c in range(group.num_columns):
            column = group.column(c)
            sizes[column.path_in_schema] = sizes.get(column.path_in_schema, 0) + column.total_compressed_size
    return sizes


def query_runners(out_dir):
    """For each engine available, a function running one SQL text over the logs files under out_dir."""
    import duckdb
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute(f"CREATE VIEW logs AS SELECT * FROM read_parquet('{out_dir}/logs/**/*.parquet', hive_partitioning = false)")
    runners = {"duckdb": lambda sql: con.execute(sql).fetchall()}
    try:
        import datafusion
    except ImportError:
        return runners
    ctx = datafusion.SessionContext()
    ctx.register_parquet("logs", f"{out_dir}/logs/", file_extension=".parquet")
    runners["datafusion"] = lambda sql: ctx.sql(sql).collect()
    return runners


def query_medians(out, names, queries):
    """Median wall-clock and CPU ms per (setting, engine, query). The settings take turns run by run, so that a
    machine whose load changes during the measurement slows them all alike; the CPU time (all threads of this
    process) is the steadier measure of decoding cost on a shared machine."""
    runners = {name: query_runners(f"{out}/{name}") for name in names}
    samples = {}
    for query in queries:
        for name in names:
            for run in runners[name].values():
                run(query["sql"])  # warm-up
        for _ in range(RUNS):
            for name in names:
                for engine, run in runners[name].items():
                    wall, cpu = time.perf_counter(), time.process_time()
                    run(query["sql"])
                    spent = (time.perf_counter() - wall, time.process_time() - cpu)
                    samples.setdefault((name, engine, query["name"]), []).append(spent)
    return {
        key: tuple(statistics.median(s[i] for s in spent) * 1000 for i in range(2))
        for key, spent in samples.items()
    }


def rewrite(data_dir, out, names, hours):
    """Writes every setting's files; returns the record count, write CPU seconds and bytes per setting."""
    records, cpu, sizes = 0, dict.fromkeys(names, 0.0), {n: {} for n in names}
    for partition in hour_partitions(data_dir)[:hours]:
        table = compacted(partition)
        records += len(table)
        relative = os.path.relpath(partition, data_dir)
        for name in names:
            setting = SETTINGS[name]
            rows = without_parsed_fields(table) if setting.get("drop_parsed") else table
            if setting.get("body_references"):
                rows = with_body_references(rows, setting["body_references"])
            os.makedirs(f"{out}/{name}/{relative}", exist_ok=True)
            path = f"{out}/{name}/{relative}/compacted.parquet"
            cpu[name] += write(rows, path, setting)
            for column, size in column_bytes(path).items():
                sizes[name][column] = sizes[name].get(column, 0) + size
            sizes[name][""] = sizes[name].get("", 0) + os.path.getsize(path)
    return records, cpu, sizes


def main(args):
    hours, queries_only = None, "--queries-only" in args
    if queries_only:
        args.remove("--queries-only")
    if "--hours" in args:
        at = args.index("--hours")
        hours = int(args[at + 1])
        del args[at:at + 2]
    if len(args) < 2:
        sys.exit(__doc__)
    data_dir, out, names = args[0], args[1], args[2:] or list(SETTINGS)
    unknown = [n for n in names if n not in SETTINGS]
    if unknown:
        sys.exit(f"unknown settings {unknown}; known: {list(SETTINGS)}")
    with open(f"{data_dir}/queries.json") as f:
        queries = json.load(f)
    if not queries_only:
        records, cpu, sizes = rewrite(data_dir, out, names, hours)
        print(f"{records} records; bytes per record in all, then in the biggest columns; CPU to write them")
        print("| setting | bytes/record | " + " | ".join(COLUMNS) + " | write µs/record |")
        print("|---" * (len(COLUMNS) + 3) + "|")
        for name in names:
            per_column = " | ".join(f"{sizes[name].get(c, 0) / records:.2f}" for c in COLUMNS)
            print(f"| {name} | {sizes[name][''] / records:.2f} | {per_column} | {cpu[name] / records * 1e6:.1f} |",
                  flush=True)
    medians = query_medians(out, names, queries)
    engines = sorted({engine for (_, engine, _) in medians})
    print(f"query medians over {RUNS} runs: wall-clock ms (CPU ms), " + " / ".join(engines))
    print("| setting | " + " | ".join(q["name"] for q in queries) + " |")
    print("|---" * (len(queries) + 1) + "|")
    for name in names:
        cells = [
            " / ".join("{:.0f} ({:.0f})".format(*medians[(name, e, q["name"])]) for e in engines) for q in queries
        ]
        print(f"| {name} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main(sys.argv[1:])
