"""Trail reading: events and compressed MB per second per worker process, peak memory
against object size, and what an incremental read lists and fetches.

Generates CloudTrail log files (``demo.trail_logs``: CloudTrail's format and layout, about
a third of the events signed with long-term keys, the rest temporary credentials) for
``--accounts`` accounts and ``--megabytes`` of compressed log in all, into the S3 of a moto
server in this process. Then:

1. reads every file with 1, 2 and 4 worker processes, each running
   ``evidence.reading.read_batch`` on batches of ``KEYLEDGER_TRAIL_BATCH_OBJECTS`` files,
   exactly what the ``read_trail_batch`` task runs, against a scratch Postgres database
   emptied between rounds;
2. reads one file of each of several sizes in a fresh process and records the peak of
   Python's allocations (tracemalloc), streamed and, for contrast, loaded whole;
3. reads the organization incrementally, as the periodic task does: after yesterday has
   been read, today's files arrive in two halves and each half is read; ListObjectsV2 and
   GetObject calls against the files that exist.

    .venv/bin/python -m bench.trail_read --out /tmp/t.md                   # 1,000 accounts, 1 GB
    .venv/bin/python -m bench.trail_read --out /tmp/t.md --quick           # 50 accounts, 50 MB
    .venv/bin/python -m bench.trail_read --accounts 200 --megabytes 100    # anything between
"""

import gzip
import json
import math
import os
import random
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime, timedelta

from bench.section import django_in_process, empty_database, section_parser, write_fragment

BENCH_DB = "keyledger_bench_trail"
WORKERS = (1, 2, 4)
REGIONS = ("us-east-1", "eu-west-1")
BUCKET = "bench-org-trail"
KEYS_PER_ACCOUNT = 10
LONG_TERM_SHARE = 0.3
WHOLE_LOAD_LIMIT = 5 * 1_048_576  # loading a larger file whole, for contrast, costs GBs
DISTINCT_BODIES_PER_ACCOUNT = 2  # files of one account share bodies: generating is costly
SERVICES = [("s3.amazonaws.com", "GetObject"), ("s3.amazonaws.com", "PutObject"),
            ("s3.amazonaws.com", "ListBuckets"), ("ec2.amazonaws.com", "DescribeInstances"),
            ("iam.amazonaws.com", "ListUsers"), ("sts.amazonaws.com", "GetCallerIdentity"),
            ("dynamodb.amazonaws.com", "Query"), ("lambda.amazonaws.com", "Invoke"),
            ("logs.amazonaws.com", "PutLogEvents"), ("kms.amazonaws.com", "Decrypt")]
AGENTS = ["aws-cli/2.15.0 Python/3.11.6 Linux/6.1 exe/x86_64", "Boto3/1.34.2 md/Botocore#1.34.2",
          "aws-sdk-go-v2/1.24.0 os/linux lang/go#1.21.5", "terraform/1.6.6 aws-sdk-go/1.48"]


# -- environment ------------------------------------------------------------------------------

def _environment(database_url: str, endpoint: str, batch: int) -> dict[str, str]:
    return {"DATABASE_URL": database_url, "SECRET_KEY": "bench-only",
            "DJANGO_SETTINGS_MODULE": "config.settings", "AWS_ENDPOINT_URL": endpoint,
            "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1", "KEYLEDGER_TRAIL_BUCKET": BUCKET,
            "KEYLEDGER_TRAIL_BATCH_OBJECTS": str(batch)}






# -- generating the organization's logs ----------------------------------------------------------

def _records(account_id: str, day: datetime, count: int, rng: random.Random) -> list[dict]:
    from demo.trail_logs import api_event

    keys = [f"AKIA{account_id[-8:]}{n:08d}" for n in range(KEYS_PER_ACCOUNT)]
    addresses = [f"203.0.113.{n}" for n in range(1, 6)] + ["s3.amazonaws.com"]
    records = []
    for _ in range(count):
        long_term = rng.random() < LONG_TERM_SHARE
        source, name = rng.choice(SERVICES)
        records.append(api_event(
            access_key_id=rng.choice(keys) if long_term else f"ASIA{rng.randrange(10**16):016d}",
            account_id=account_id, when=day + timedelta(seconds=rng.randrange(86_400)),
            event_source=source, event_name=name, region=rng.choice(REGIONS),
            source_ip=rng.choice(addresses), user_agent=rng.choice(AGENTS),
            error_code="AccessDenied" if rng.random() < 0.03 else ""))
    return records


def _records_per_file(object_kb: int) -> int:
    """How many records make a file of about ``object_kb`` KB compressed (measured)."""
    sample = _records("100000000000", datetime(2026, 1, 1, tzinfo=UTC), 500, random.Random(1))
    size = len(gzip.compress(json.dumps({"Records": sample}).encode()))
    return max(1, round(object_kb * 1024 / (size / len(sample))))


def generate(s3, *, accounts: list[str], day: datetime, files_per_account: int,
             records_per_file: int, seed: int, start_minute: int = 0) -> tuple[int, int]:
    """Write ``files_per_account`` files for each account on ``day``; (files, bytes)."""
    from demo.trail_logs import log_key

    rng = random.Random(seed)
    files = size = 0
    for account_id in accounts:
        bodies = [gzip.compress(json.dumps({"Records": _records(
            account_id, day, records_per_file, rng)}, separators=(",", ":")).encode())
            for _ in range(DISTINCT_BODIES_PER_ACCOUNT)]
        for n in range(files_per_account):
            region = REGIONS[n % len(REGIONS)]
            when = day + timedelta(minutes=start_minute + 5 * (n // len(REGIONS)))
            body = bodies[n % len(bodies)]
            s3.put_object(Bucket=BUCKET, Body=body,
                          Key=log_key(account_id=account_id, region=region, when=when))
            files += 1
            size += len(body)
    return files, size


# -- 1. throughput with worker processes -------------------------------------------------------

def _worker_ready(_n: int) -> int:
    time.sleep(0.5)  # keeps each worker busy so every one of them is started before timing
    return os.getpid()


def _read_keys(keys: list[str]) -> tuple[int, int, int, float]:
    """One batch, as the read_trail_batch task reads it: (files, events kept, compressed
    bytes, CPU seconds)."""
    from evidence.reading import read_batch
    from governance.aws.trail import log_object, trail_session

    cpu = time.process_time()
    outcome = read_batch(trail_session(), [log for k in keys if (log := log_object(k))])
    assert not outcome.failed, outcome.failed
    from evidence.models import TrailObject

    size = sum(TrailObject.objects.filter(key__in=keys).values_list("size", flat=True))
    return len(keys), outcome.stored.events, size, time.process_time() - cpu


def _empty_evidence() -> None:
    from django.db import connection

    from evidence.models import KeyUsageAddress, KeyUsageDay, TrailObject, TrailWatermark

    tables = ", ".join(m._meta.db_table for m in (KeyUsageAddress, KeyUsageDay, TrailObject,
                                                   TrailWatermark))
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {tables}")


def throughput(keys: list[str], workers: int, environment: dict, batch: int) -> dict:
    import multiprocessing

    from django.db import connections

    _empty_evidence()
    connections.close_all()
    batches = [keys[i:i + batch] for i in range(0, len(keys), batch)]
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(workers, mp_context=context, initializer=django_in_process,
                             initargs=(environment,)) as pool:
        list(pool.map(_worker_ready, range(workers)))
        started = time.perf_counter()
        results = list(pool.map(_read_keys, batches))
        seconds = time.perf_counter() - started
    files, events, size, cpu = (sum(r[i] for r in results) for i in range(4))
    return {"workers": workers, "seconds": seconds, "files": files, "events": events,
            "megabytes": size / 1_048_576, "cpu": cpu}


# -- 2. peak memory against object size ------------------------------------------------------

def _peak_memory(key: str, environment: dict) -> tuple[float, float, int]:
    """(peak MB streamed, peak MB loaded whole, events) for one file, in a fresh process."""
    django_in_process(environment)
    import tracemalloc

    from django.conf import settings

    from evidence.usage import Reduction
    from governance.aws.trail import ReadStats, read_events, trail_session

    session = trail_session()
    session.client("s3")  # the client itself is not what is measured
    tracemalloc.start()
    reduction, stats = Reduction(), ReadStats()
    for event in read_events(session, bucket=settings.KEYLEDGER_TRAIL_BUCKET, key=key,
                             stats=stats):
        reduction.add(event)
    streamed = tracemalloc.get_traced_memory()[1]
    loaded = float("nan")
    if stats.compressed_bytes <= WHOLE_LOAD_LIMIT:
        tracemalloc.reset_peak()
        body = session.client("s3").get_object(Bucket=BUCKET, Key=key)["Body"].read()
        assert len(json.loads(gzip.decompress(body))["Records"]) == stats.records
        loaded = tracemalloc.get_traced_memory()[1] / 1_048_576
    tracemalloc.stop()
    return streamed / 1_048_576, loaded, stats.kept


def memory_by_size(s3, sizes_mb: list[int], environment: dict, day: datetime) -> list[dict]:
    import multiprocessing

    from demo.trail_logs import log_key

    per_record = _records_per_file(64) / 64  # records per compressed KB
    block = _records("100000000099", day, 2000, random.Random(7))
    rows = []
    for size in sizes_mb:
        count = int(size * 1024 * per_record)
        records = (block * math.ceil(count / len(block)))[:count]
        body = gzip.compress(json.dumps({"Records": records}, separators=(",", ":")).encode())
        key = log_key(account_id="100000000099", region="us-east-1", when=day, suffix=f"m{size}")
        s3.put_object(Bucket=BUCKET, Key=key, Body=body)
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(1, mp_context=context) as pool:
            streamed, loaded, kept = pool.submit(_peak_memory, key, environment).result()
        rows.append({"mb": len(body) / 1_048_576, "records": count, "kept": kept,
                     "streamed": streamed, "loaded": loaded})
    return rows


# -- 3. an incremental day ------------------------------------------------------------------

def incremental(s3, accounts: list[str], today: datetime, files_per_account: int,
                records_per_file: int, existing: int) -> list[dict]:
    """Read yesterday to set the watermarks, then today's files in two arrivals."""
    from collections import Counter

    from evidence.reading import read_account, trail_accounts
    from governance.aws.trail import trail_session

    _empty_evidence()
    rounds = []
    half = max(1, files_per_account // 2)
    for label, arriving, minute in (("yesterday, first read", 0, 0),
                                    ("today, first half arrives", half, 0),
                                    ("today, second half arrives", half, 5 * half)):
        if arriving:
            files, _size = generate(s3, accounts=accounts, day=today, files_per_account=arriving,
                                    records_per_file=records_per_file, seed=minute + 11,
                                    start_minute=minute)
            existing += files
        calls: Counter = Counter()
        session = trail_session(calls)
        found = trail_accounts(session)
        fetched = listed = 0
        for account_id in accounts:
            outcome = read_account(account_id=account_id, prefixes=found.get(account_id, []),
                                   today=today.date(), days=2, session=session)
            assert not outcome.failed, outcome.errors[:1]
            fetched += outcome.read
            listed += outcome.listed
        rounds.append({"label": label, "existing": existing, "listed": listed,
                       "fetched": fetched, "list_calls": calls["s3:ListObjectsV2"],
                       "get_calls": calls["s3:GetObject"]})
    return rounds


# -- report -----------------------------------------------------------------------------------

def _fragment(args, generated: dict, rounds: list[dict], memory: list[dict],
              increments: list[dict]) -> str:
    one = rounds[0]
    out = [
        "## Usage evidence: reading the organization trail",
        "",
        f"{args.accounts} accounts, {generated['files']:,} log files, "
        f"{generated['megabytes']:.0f} MB of compressed CloudTrail log "
        f"({generated['records']:,} records, {LONG_TERM_SHARE:.0%} signed with long-term "
        f"keys), in a moto server's S3 in the bench process; batches of {args.batch} files "
        "read by `evidence.reading.read_batch` (what the `read_trail_batch` task runs) in "
        "worker processes, into Postgres. `python -m bench.trail_read` "
        f"(`--accounts {args.accounts} --megabytes {args.megabytes}`).",
        "",
        "### Throughput per worker process",
        "",
        "| worker processes | events kept / s | per process | compressed MB / s | per process "
        "| vs 1 process | CPU s per 1,000 events |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rounds:
        events_rate = r["events"] / r["seconds"]
        mb_rate = r["megabytes"] / r["seconds"]
        out.append(
            f"| {r['workers']} | {events_rate:,.0f} | {events_rate / r['workers']:,.0f} "
            f"| {mb_rate:.1f} | {mb_rate / r['workers']:.2f} "
            f"| {one['seconds'] / r['seconds']:.2f}x | {1000 * r['cpu'] / r['events']:.3f} |")
    out += [
        "",
        f"Every round read the same {one['files']:,} files and kept the same "
        f"{one['events']:,} events (the counts agree: each file counted once). The moto "
        f"server answering S3 runs in the bench process and shares the machine's "
        f"{os.cpu_count()} cores with the workers, so beyond {os.cpu_count()} processes the "
        "figures show contention, not what more Celery workers on more machines add.",
        "",
        "### Peak memory against object size",
        "",
        "| object (compressed MB) | records | peak MB, streamed | peak MB, loaded whole |",
        "|---|---|---|---|",
    ]
    for m in memory:
        loaded = "not measured" if math.isnan(m["loaded"]) else f"{m['loaded']:.1f}"
        out.append(f"| {m['mb']:.1f} | {m['records']:,} | {m['streamed']:.1f} | {loaded} |")
    flat = memory[-1]["streamed"] / max(memory[0]["streamed"], 0.01)
    whole = [m for m in memory if not math.isnan(m["loaded"])]
    grow = whole[-1]["loaded"] / max(whole[0]["loaded"], 0.01)
    out += [
        "",
        f"Python allocations (tracemalloc) while one file is read and reduced: streamed, the "
        f"peak grows {flat:.1f}x from the smallest to the largest file "
        f"({memory[-1]['mb'] / memory[0]['mb']:.0f}x larger); `json.loads` of the whole "
        f"file, for contrast, grows {grow:.0f}x up to the {whole[-1]['mb']:.0f} MB file "
        "(larger ones are not loaded whole here: they would take gigabytes).",
        "",
        "### An incremental read",
        "",
        "| read | files in the bucket | listed | fetched | ListObjectsV2 calls "
        "| GetObject calls |",
        "|---|---|---|---|---|---|",
    ]
    for i in increments:
        out.append(f"| {i['label']} | {i['existing']:,} | {i['listed']:,} | {i['fetched']:,} "
                   f"| {i['list_calls']:,} | {i['get_calls']:,} |")
    out += [
        "",
        "Listing starts at each account and region's watermark day (`StartAfter`), so days "
        "already read are never listed again; only the watermark day is listed again, and "
        "only files not yet recorded are fetched (GetObject calls = files fetched). The "
        "ListObjectsV2 calls include the listing of accounts and of each account's regions.",
        "",
    ]
    return "\n".join(out) + "\n"


def main() -> int:
    parser = section_parser(__doc__, quick_help="50 accounts, 50 MB", out_required=False)
    parser.add_argument("--accounts", type=int)
    parser.add_argument("--megabytes", type=int, help="compressed log in all (default 1024)")
    parser.add_argument("--object-kb", type=int, default=128,
                        help="compressed size of a log file (CloudTrail: 5-minute files)")
    parser.add_argument("--batch", type=int, default=50, help="files per read task")
    parser.add_argument("--memory-sizes", default="",
                        help="comma-separated MB of the files read for peak memory")
    parser.add_argument("--postgres", default=os.environ.get(
        "BENCH_POSTGRES", "postgres://postgres@127.0.0.1:5432"))
    args = parser.parse_args()
    args.accounts = args.accounts or (50 if args.quick else 1000)
    args.megabytes = args.megabytes or (50 if args.quick else 1024)
    sizes = [int(s) for s in (args.memory_sizes or ("1,2,4" if args.quick else "1,4,16"))
             .split(",")]

    from demo.emulator import EmulatedAws

    emulator = EmulatedAws().start()
    environment = _environment(empty_database(args.postgres, BENCH_DB), emulator.url, args.batch)
    django_in_process(environment)
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    import boto3

    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket=BUCKET)
    accounts = [f"{100000000000 + n:012d}" for n in range(args.accounts)]
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    yesterday = today - timedelta(days=1)
    records_per_file = _records_per_file(args.object_kb)
    files_per_account = max(2, math.ceil(args.megabytes * 1024 / args.object_kb / args.accounts))
    started = time.perf_counter()
    files, size = generate(s3, accounts=accounts, day=yesterday,
                           files_per_account=files_per_account,
                           records_per_file=records_per_file, seed=3)
    print(f"generated {files} files, {size / 1_048_576:.0f} MB in "
          f"{time.perf_counter() - started:.0f} s", flush=True)
    generated = {"files": files, "megabytes": size / 1_048_576,
                 "records": files * records_per_file}
    keys = [k["Key"] for page in s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET)
            for k in page.get("Contents", [])]
    rounds = []
    for workers in WORKERS:
        rounds.append(throughput(keys, workers, environment, args.batch))
        r = rounds[-1]
        print(f"{workers} process(es): {r['events'] / r['seconds']:,.0f} events/s, "
              f"{r['megabytes'] / r['seconds']:.1f} MB/s", flush=True)
    increments = incremental(s3, accounts, today, files_per_account, records_per_file,
                             existing=files)
    memory = memory_by_size(s3, sizes, environment, yesterday)
    emulator.stop()
    fragment = _fragment(args, generated, rounds, memory, increments)
    write_fragment(args.out, fragment)
    return 0


if __name__ == "__main__":
    sys.exit(main())
