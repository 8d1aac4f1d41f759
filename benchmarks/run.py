"""Benchmarks of mock_lambda_async against a moto baseline measured in the same run.

Run ``python benchmarks/run.py`` (``--help`` for options). Every figure is the median of repeated
runs; ratios compare against plain moto measured by this same run on this same machine, so they
hold across machines better than absolute times. The heavy scenarios (10,000 and 100,000 SQS
messages, 100,000 async events) each run in a fresh Python process, so one's garbage does not slow
the next and peak memory is that scenario's own.

Scenarios and targets (issue 5, "Benchmarks"):

- ``sync``: a synchronous ``Invoke`` of a trivial handler through boto3, against one moto
  ``SendMessage`` through boto3 on a small queue (replaced every few sends: moto's per-send cost grows
  with the queue). Target: at most 1.5 times the baseline.
- ``clock``: the same synchronous ``Invoke`` with the process's wall clock on the virtual clock
  (the default) against ``patch_time=False``. Target: at most 5 % more.
- ``async-failure``: an ``Event`` invoke whose handler fails three times (3 virtual minutes) and whose
  event lands in an OnFailure SQS queue, per event (invoke plus ``drain()``). Target: at most 5 times
  one ``SendMessage``.
- ``sqs``: 10,000 messages through an SQS mapping (batch 10, 10 % poison messages reported as batch
  item failures, redrive to a DLQ after 3 receives), sent up front with ``auto_drain=False``; then
  ``drain()`` is timed. Target: 3 s (queue filled through boto3 ``SendMessageBatch``, timed apart);
  and 100,000 messages in at most 10 times the time of 10,000, both queues filled through moto's
  backend (100,000 boto3 sends would take a minute).
- ``async-memory``: 100,000 queued async events: peak RSS growth while queueing and draining them,
  and the drain time. Target: 300 MB.
- ``activation``: entering and leaving ``mock_lambda_async()`` against ``mock_aws()`` (what every test
  pays), and ``lam.add_function`` per function.

``--profile`` prints cProfile statistics of the timed part of each scenario to stderr.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import json
import os
import platform
import pstats
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")

import boto3
import moto
from moto import mock_aws

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mock_lambda_async import mock_lambda_async  # noqa: E402

REGION = "us-east-1"
ACCOUNT = "123456789012"
#: Sends to one baseline queue before an empty one replaces it (moto's SendMessage slows as a queue grows).
BASELINE_QUEUE_MAX = 10
POISON_EVERY = 10
MAX_RECEIVE_COUNT = 3


@dataclass
class Row:
    """One line of the results table."""

    scenario: str
    measured: str
    baseline: str
    ratio: str
    target: str
    ok: bool | None
    note: str = ""


# -- helpers ----------------------------------------------------------------------------------------
def _median(values: list[float]) -> float:
    return statistics.median(values)


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f} ms"


def _s(seconds: float) -> str:
    return f"{seconds:.2f} s"


def _rss_mb() -> float:
    """Current resident set size (Linux ``/proc``; elsewhere the peak so far)."""
    try:
        with open("/proc/self/statm") as statm:
            pages = int(statm.read().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 2**20
    except OSError:
        return _peak_rss_mb()


def _peak_rss_mb() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024


@contextmanager
def _profiled(enabled: bool, label: str) -> Iterator[None]:
    if not enabled:
        yield
        return
    profiler = cProfile.Profile()
    profiler.enable()
    try:
        yield
    finally:
        profiler.disable()
        print(f"\n--- profile: {label} ---", file=sys.stderr)
        stats = pstats.Stats(profiler, stream=sys.stderr)
        stats.sort_stats("cumulative").print_stats(45)
        stats.sort_stats("tottime").print_stats(30)


def _timed_calls(call: Callable[[], Any], count: int, between: Callable[[int], None]) -> float:
    """Mean seconds per ``call`` over ``count`` calls; ``between(i)`` runs untimed after each."""
    total = 0.0
    for index in range(count):
        started = time.perf_counter()
        call()
        total += time.perf_counter() - started
        between(index)
    return total / count


class _BaselineQueue:
    """The baseline: moto ``SendMessage`` through boto3 on a queue kept small."""

    def __init__(self) -> None:
        self.sqs = boto3.client("sqs", region_name=REGION)
        self.queues = 0
        self.url = self._new_queue()

    def _new_queue(self) -> str:
        self.queues += 1
        return str(self.sqs.create_queue(QueueName=f"baseline-{self.queues}")["QueueUrl"])

    def send(self) -> None:
        self.sqs.send_message(QueueUrl=self.url, MessageBody='{"n": 1}')

    def after(self, index: int) -> None:
        """Swap in an empty queue (moto 5.2.5 allows one ``PurgeQueue`` a minute, as SQS does)."""
        if (index + 1) % BASELINE_QUEUE_MAX == 0:
            self.sqs.delete_queue(QueueUrl=self.url)
            self.url = self._new_queue()

    def per_call(self, count: int) -> float:
        for index in range(5):  # warm-up
            self.send()
            self.after(index)
        return _timed_calls(self.send, count, self.after)


def _baseline_send(count: int) -> float:
    with mock_aws():
        return _BaselineQueue().per_call(count)


# -- sync invoke --------------------------------------------------------------------------------------
def sync_invoke(repeats: int, count: int, profile: bool) -> tuple[float, float]:
    """(median seconds per sync Invoke, median seconds per baseline SendMessage)."""
    subject: list[float] = []
    baseline: list[float] = []
    for _ in range(repeats):
        baseline.append(_baseline_send(count))
        subject.append(_sync_run(count, profile))
    return _median(subject), _median(baseline)


def clock_cost(repeats: int, count: int) -> tuple[float, float]:
    """(median seconds per sync Invoke on the virtual wall clock, the same with ``patch_time=False``).

    Interleaved, so a busy moment of the machine falls on both.
    """
    patched: list[float] = []
    real: list[float] = []
    for _ in range(repeats):
        real.append(_sync_run(count, False, patch_time=False))
        patched.append(_sync_run(count, False))
    return _median(patched), _median(real)


def _sync_run(count: int, profile: bool, *, patch_time: bool = True) -> float:
    with mock_lambda_async(patch_time=patch_time) as lam:
        lam.add_function("noop", lambda event, context: None)
        client = boto3.client("lambda", region_name=REGION)

        def invoke() -> None:
            client.invoke(FunctionName="noop", Payload=b'{"n": 1}')

        for _ in range(5):
            invoke()
        with _profiled(profile, "sync invoke"):
            return _timed_calls(invoke, count, lambda i: None)


# -- async invoke failing three times into an OnFailure queue ------------------------------------------
def _failing(event: Any, context: Any) -> None:
    raise ValueError("boom")


def async_failure(repeats: int, count: int, profile: bool) -> tuple[float, float]:
    """(median seconds per failed async event, median seconds per baseline SendMessage)."""
    subject: list[float] = []
    baseline: list[float] = []
    for _ in range(repeats):
        baseline.append(_baseline_send(count))
        subject.append(_async_failure_run(count, profile))
    return _median(subject), _median(baseline)


def _async_failure_run(count: int, profile: bool) -> float:
    from moto.sqs.models import sqs_backends

    with mock_lambda_async(auto_drain=False) as lam:
        sqs = boto3.client("sqs", region_name=REGION)
        sqs.create_queue(QueueName="failures")
        target = f"arn:aws:sqs:{REGION}:{ACCOUNT}:failures"
        lam.add_function("orders", _failing)
        client = boto3.client("lambda", region_name=REGION)
        client.put_function_event_invoke_config(
            FunctionName="orders", DestinationConfig={"OnFailure": {"Destination": target}}
        )
        queue = sqs_backends[ACCOUNT][REGION].queues["failures"]

        def one_event() -> None:
            client.invoke(FunctionName="orders", InvocationType="Event", Payload=b'{"n": 1}')
            lam.drain()

        def after(index: int) -> None:
            if (index + 1) % BASELINE_QUEUE_MAX == 0:
                queue._messages = []

        one_event()
        assert len(queue._messages) == 1, "the failed event did not reach the OnFailure queue"
        after(BASELINE_QUEUE_MAX - 1)
        with _profiled(profile, "async failure"):
            per_event = _timed_calls(one_event, count, after)
        attempts = lam.invocations("orders")
        assert len(attempts) == 3 * (count + 1) and not any(a.ok for a in attempts)
    return per_event


# -- activation overhead ------------------------------------------------------------------------------
def activation(repeats: int) -> tuple[float, float]:
    """(median seconds per mock_lambda_async enter+exit, the same for mock_aws)."""
    ours: list[float] = []
    motos: list[float] = []
    for _ in range(3):  # warm-up: imports, first registrations
        with mock_lambda_async():
            pass
        with mock_aws():
            pass
    for _ in range(repeats):
        started = time.perf_counter()
        with mock_aws():
            pass
        motos.append(time.perf_counter() - started)
        started = time.perf_counter()
        with mock_lambda_async():
            pass
        ours.append(time.perf_counter() - started)
    return _median(ours), _median(motos)


def add_function_cost(count: int) -> float:
    """Median seconds per ``lam.add_function`` (a callable) within one activation."""
    with mock_lambda_async() as lam:
        lam.add_function("first", _failing)  # creates the role (and the clients, once a process)
        times: list[float] = []
        for index in range(count):
            started = time.perf_counter()
            lam.add_function(f"fn-{index}", _failing)
            times.append(time.perf_counter() - started)
    return _median(times)


# -- SQS through a mapping (child process) ------------------------------------------------------------
def _worker(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return {
        "batchItemFailures": [
            {"itemIdentifier": record["messageId"]}
            for record in event["Records"]
            if record["body"].startswith("poison")
        ]
    }


def sqs_mapping(messages: int, fill: str, profile: bool) -> dict[str, Any]:
    """Fill a queue with ``messages`` (``fill``: ``boto3`` or ``backend``), then time ``drain()``."""
    from moto.sqs.models import sqs_backends

    with mock_lambda_async(auto_drain=False) as lam:
        sqs = boto3.client("sqs", region_name=REGION)
        dlq_url = sqs.create_queue(QueueName="work-dlq")["QueueUrl"]
        dlq_arn = f"arn:aws:sqs:{REGION}:{ACCOUNT}:work-dlq"
        redrive = {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": MAX_RECEIVE_COUNT}
        url = sqs.create_queue(QueueName="work", Attributes={"RedrivePolicy": json.dumps(redrive)})[
            "QueueUrl"
        ]
        lam.add_function("worker", _worker, Timeout=30)
        client = boto3.client("lambda", region_name=REGION)
        client.create_event_source_mapping(
            EventSourceArn=f"arn:aws:sqs:{REGION}:{ACCOUNT}:work",
            FunctionName="worker",
            BatchSize=10,
            FunctionResponseTypes=["ReportBatchItemFailures"],
        )
        lam.drain()  # the mapping becomes Enabled

        def body(n: int) -> str:
            return f"poison-{n}" if n % POISON_EVERY == 0 else f'{{"order": {n}}}'

        started = time.perf_counter()
        if fill == "boto3":
            for first in range(0, messages, 10):
                entries = [
                    {"Id": str(n), "MessageBody": body(n)}
                    for n in range(first, min(first + 10, messages))
                ]
                sqs.send_message_batch(QueueUrl=url, Entries=entries)
        else:
            backend = sqs_backends[ACCOUNT][REGION]
            for n in range(messages):
                backend.send_message("work", body(n))
        fill_s = time.perf_counter() - started
        assert lam.invocations() == []

        # The collector's debt from the fill is settled first: sending 100,000 messages leaves
        # some 200,000 objects awaiting a full collection, which would otherwise fall inside the
        # timed drain at 100,000 and not at 10,000 (the fill is not what is timed). What the drain
        # itself leaves for the collector, and every collection it sets off, is timed.
        gc.collect()
        with _profiled(profile, f"sqs drain of {messages}"):
            started, started_cpu = time.perf_counter(), time.process_time()
            lam.drain()
            drain_s = time.perf_counter() - started
            drain_cpu_s = time.process_time() - started_cpu

        poison = len(range(0, messages, POISON_EVERY))
        attributes = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["All"])
        in_dlq = int(attributes["Attributes"]["ApproximateNumberOfMessages"])
        left = sqs_backends[ACCOUNT][REGION].queues["work"]._messages
        invocations = len(lam.invocations())
        assert in_dlq == poison, f"{in_dlq} messages in the DLQ, expected {poison}"
        assert not left, f"{len(left)} messages left in the queue"
    return {
        "messages": messages,
        "fill": fill,
        "fill_s": fill_s,
        "drain_s": drain_s,
        "drain_cpu_s": drain_cpu_s,
        "invocations": invocations,
        "dead_lettered": in_dlq,
    }


# -- 100,000 queued async events (child process) ------------------------------------------------------
def async_memory(events: int, profile: bool) -> dict[str, Any]:
    """Queue ``events`` async events (through the queue's entry point), then drain them."""
    from mock_lambda_async.async_queue import enqueue
    from mock_lambda_async.functions import resolve

    gc.collect()
    with mock_lambda_async(auto_drain=False) as lam:
        lam.add_function("noop", lambda event, context: None)
        fn = resolve("noop", REGION, ACCOUNT)
        client = boto3.client("lambda", region_name=REGION)
        client.invoke(FunctionName="noop", InvocationType="Event", Payload=b'{"n": 0}')
        lam.drain()
        gc.collect()
        rss_before = _rss_mb()
        started = time.perf_counter()
        for n in range(events):
            enqueue(lam, fn, b'{"n": %d}' % n, trigger="async")
        queue_s = time.perf_counter() - started
        rss_queued = _rss_mb()
        with _profiled(profile, f"drain of {events} async events"):
            started = time.perf_counter()
            lam.drain()
            drain_s = time.perf_counter() - started
        rss_drained = _rss_mb()
        peak = _peak_rss_mb()
        attempts = len(lam.invocations("noop"))
        assert attempts == events + 1, f"{attempts} attempts, expected {events + 1}"
    return {
        "events": events,
        "queue_s": queue_s,
        "drain_s": drain_s,
        "rss_before_mb": rss_before,
        "rss_queued_mb": rss_queued,
        "rss_drained_mb": rss_drained,
        "peak_growth_mb": peak - rss_before,
    }


# -- running --------------------------------------------------------------------------------------------
def _child(args: list[str]) -> dict[str, Any]:
    """Run one heavy scenario in a fresh interpreter; its JSON result is the last stdout line."""
    completed = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--child", *args],
        check=True,
        stdout=subprocess.PIPE,
        text=True,
    )
    result: dict[str, Any] = json.loads(completed.stdout.strip().splitlines()[-1])
    return result


def _run_child(name: str, size: int, fill: str, profile: bool) -> None:
    if name == "sqs":
        result = sqs_mapping(size, fill, profile)
    elif name == "async-memory":
        result = async_memory(size, profile)
    else:
        raise SystemExit(f"unknown child scenario {name}")
    print(json.dumps(result))


SCENARIOS = ("sync", "clock", "async-failure", "sqs", "async-memory", "activation")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", choices=SCENARIOS, action="append", help="run only these")
    parser.add_argument("--repeats", type=int, default=5, help="runs per timing (median taken)")
    parser.add_argument("--calls", type=int, default=200, help="calls per run (sync, async)")
    parser.add_argument("--sqs-repeats", type=int, default=3, help="runs of the 10,000 (boto3)")
    parser.add_argument(
        "--sqs-large-repeats", type=int, default=5, help="runs of the 100,000 messages"
    )
    parser.add_argument("--quick", action="store_true", help="smaller sizes, to try the script")
    parser.add_argument("--profile", action="store_true", help="print cProfile stats (stderr)")
    parser.add_argument("--markdown", action="store_true", help="print the Markdown table too")
    parser.add_argument("--output", type=Path, help="also write the Markdown table to this file")
    parser.add_argument(
        "--child", nargs=3, metavar=("SCENARIO", "SIZE", "FILL"), help=argparse.SUPPRESS
    )
    args = parser.parse_args(argv)
    if args.child:
        name, size, fill = args.child
        _run_child(name, int(size), fill, args.profile)
        return 0

    selected = args.only or list(SCENARIOS)
    small, large, events = (1_000, 10_000, 10_000) if args.quick else (10_000, 100_000, 100_000)
    rows: list[Row] = []
    profile_flag = ["--profile"] if args.profile else []

    if "sync" in selected:
        invoke_s, send_s = sync_invoke(args.repeats, args.calls, args.profile)
        ratio = invoke_s / send_s
        rows.append(
            Row(
                "sync Invoke (trivial handler) vs moto SendMessage",
                _ms(invoke_s),
                _ms(send_s),
                f"{ratio:.2f}x",
                "≤ 1.5x",
                ratio <= 1.5,
            )
        )
    if "clock" in selected:
        patched_s, real_s = clock_cost(args.repeats, args.calls)
        ratio = patched_s / real_s
        rows.append(
            Row(
                "sync Invoke on the virtual wall clock vs patch_time=False",
                _ms(patched_s),
                _ms(real_s),
                f"{ratio:.3f}x",
                "≤ 1.05x",
                ratio <= 1.05,
            )
        )
    if "async-failure" in selected:
        event_s, send_s = async_failure(args.repeats, args.calls, args.profile)
        ratio = event_s / send_s
        rows.append(
            Row(
                "async event failing 3 times -> OnFailure queue, per event",
                _ms(event_s),
                _ms(send_s),
                f"{ratio:.2f}x",
                "≤ 5x",
                ratio <= 5,
            )
        )
    if "sqs" in selected:
        # Interleaved, so a busy moment of the machine does not fall on one size only.
        # The growth compares queues filled the same way (moto's backend), so only size differs.
        runs: list[dict[str, Any]] = []
        smalls: list[dict[str, Any]] = []
        bigs: list[dict[str, Any]] = []
        for index in range(max(args.sqs_repeats, args.sqs_large_repeats)):
            if index < args.sqs_repeats:
                runs.append(_child(["sqs", str(small), "boto3", *profile_flag]))
            if index < args.sqs_large_repeats:
                # Two short baseline runs around each long one: the short ones are the noisier.
                smalls.append(_child(["sqs", str(small), "backend", *profile_flag]))
                bigs.append(_child(["sqs", str(large), "backend", *profile_flag]))
                smalls.append(_child(["sqs", str(small), "backend", *profile_flag]))
        drain_small = _median([r["drain_s"] for r in runs])
        fill_small = _median([r["fill_s"] for r in runs])
        drain_small_backend = _median([r["drain_s"] for r in smalls])
        cpu_small = _median([r["drain_cpu_s"] for r in smalls])
        drain_big = _median([r["drain_s"] for r in bigs])
        fill_big = _median([r["fill_s"] for r in bigs])
        cpu_big = _median([r["drain_cpu_s"] for r in bigs])
        rows.append(
            Row(
                f"{small:,} SQS messages through a mapping: drain()",
                _s(drain_small),
                "",
                "",
                "≤ 3 s" if not args.quick else "(quick run)",
                drain_small <= 3 if not args.quick else None,
                f"{runs[0]['invocations']:,} invocations, {runs[0]['dead_lettered']:,} to the DLQ; "
                f"filling through boto3 SendMessageBatch took {_s(fill_small)} (not counted)",
            )
        )
        growth = drain_big / drain_small_backend
        rows.append(
            Row(
                f"{large:,} SQS messages: drain()",
                _s(drain_big),
                _s(drain_small_backend),
                f"{growth:.2f}x",
                "≤ 10x",
                growth <= 10,
                f"both queues filled through moto's backend (send_message), {large:,} in "
                f"{_s(fill_big)}, not counted; baseline: the {small:,} drain of such a queue; "
                f"process CPU time {_s(cpu_big)} vs {_s(cpu_small)} ({cpu_big / cpu_small:.2f}x)",
            )
        )
    if "async-memory" in selected:
        result = _child(["async-memory", str(events), "-", *profile_flag])
        rows.append(
            Row(
                f"{events:,} queued async events: peak memory",
                f"{result['peak_growth_mb']:.0f} MB",
                "",
                "",
                "≤ 300 MB",
                result["peak_growth_mb"] <= 300,
                "growth of peak RSS over RSS before queueing, in a fresh process "
                f"(queued: +{result['rss_queued_mb'] - result['rss_before_mb']:.0f} MB)",
            )
        )
        rows.append(
            Row(
                f"{events:,} queued async events: drain()",
                _s(result["drain_s"]),
                "",
                "",
                "",
                None,
                f"queued through the async queue's entry point in {_s(result['queue_s'])}",
            )
        )
    if "activation" in selected:
        ours, motos = activation(max(args.repeats * 4, 20))
        rows.append(
            Row(
                "activation: enter+exit mock_lambda_async() vs mock_aws()",
                _ms(ours),
                _ms(motos),
                f"{ours / motos:.2f}x",
                "",
                None,
                f"+{(ours - motos) * 1000:.2f} ms per activation",
            )
        )
        rows.append(
            Row(
                "lam.add_function(name, callable), per function",
                _ms(add_function_cost(max(args.repeats * 4, 20))),
                "",
                "",
                "",
                None,
                "after the activation's first, which also creates the role",
            )
        )

    print(_text_table(rows))
    markdown = _markdown(rows, args)
    if args.markdown:
        print()
        print(markdown)
    if args.output:
        args.output.write_text(markdown + "\n")
    return 0 if all(r.ok is not False for r in rows) else 1


def _environment() -> str:
    return (
        f"{os.cpu_count()} cores, Python {platform.python_version()}, moto {moto.__version__}, "
        f"boto3 {boto3.__version__}"
    )


def _text_table(rows: list[Row]) -> str:
    header = ("scenario", "measured", "baseline", "ratio", "target", "")
    lines = [(r.scenario, r.measured, r.baseline, r.ratio, r.target, _verdict(r.ok)) for r in rows]
    widths = [max(len(str(line[i])) for line in [header, *lines]) for i in range(len(header))]
    out = [f"mock_lambda_async benchmarks ({_environment()})"]
    for line in [header, *lines]:
        out.append(
            "  ".join(str(cell).ljust(width) for cell, width in zip(line, widths, strict=True))
        )
    for r in rows:
        if r.note:
            out.append(f"- {r.scenario}: {r.note}")
    return "\n".join(out)


def _verdict(ok: bool | None) -> str:
    return "" if ok is None else ("ok" if ok else "MISSED")


def _markdown(rows: list[Row], args: argparse.Namespace) -> str:
    lines = [
        "| scenario | measured | baseline (same run) | ratio | target |",
        "|---|---|---|---|---|",
    ]
    for r in rows:
        target = f"{r.target} {_verdict(r.ok)}".strip()
        lines.append(f"| {r.scenario} | {r.measured} | {r.baseline} | {r.ratio} | {target} |")
    notes = [f"- {r.scenario}: {r.note}" for r in rows if r.note]
    medians = (
        f"Medians of {args.repeats} runs of {args.calls} calls (sync, async), of "
        f"{args.sqs_repeats} runs of the 10,000 SQS drain (boto3), of {args.sqs_large_repeats} "
        f"runs of the 100,000 drain and {2 * args.sqs_large_repeats} of its 10,000 baseline; "
        f"{_environment()}."
    )
    return "\n".join([*lines, "", medians, *notes])


if __name__ == "__main__":
    sys.exit(main())
