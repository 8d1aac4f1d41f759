"""Invocations from several threads: nothing lost, nothing leaked, each function in its own world.

Handlers run on their environment's worker thread; a test may call ``invoke`` from threads of its
own, and a handler may start a thread pool that invokes other functions. Every event must still be
recorded once, each invocation must see its own function's environment variables, and when the
threads are done the test process must look as it did before (environment, working directory,
modules, root logger).
"""

from __future__ import annotations

import json
import logging
import os
import sys
import threading
import traceback
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import pytest
from conftest import REGION, lambda_role, make_zip

from mock_lambda_async import mock_lambda_async

#: How long a handler waits for its siblings at a barrier (real seconds; they meet at once).
MEET_S = 5.0


@pytest.fixture
def thread_errors() -> Iterator[list[str]]:
    """Exceptions raised in any thread during the test (an unhandled one fails it)."""
    errors: list[str] = []
    original = threading.excepthook

    def hook(args: Any) -> None:
        errors.append(
            "".join(traceback.format_exception(args.exc_type, args.exc_value, args.exc_traceback))
        )

    threading.excepthook = hook
    try:
        yield errors
    finally:
        threading.excepthook = original


def run_in_threads(count: int, target: Callable[[int], Any]) -> list[Any]:
    """Call ``target(0..count-1)`` on ``count`` threads at once; results in index order."""
    results: list[Any] = [None] * count
    start = threading.Barrier(count)

    def run(index: int) -> None:
        start.wait(MEET_S)
        results[index] = target(index)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def invoke(name: str, payload: Any, invocation_type: str = "RequestResponse") -> Any:
    response = boto3.client("lambda", region_name=REGION).invoke(
        FunctionName=name, InvocationType=invocation_type, Payload=json.dumps(payload)
    )
    body = response["Payload"].read()
    return json.loads(body) if body else None


def test_sync_invokes_from_many_threads_are_each_recorded_once(lam, thread_errors):
    lam.add_function("square", lambda event, context: event["n"] ** 2)
    results = run_in_threads(16, lambda n: invoke("square", {"n": n}))
    assert results == [n * n for n in range(16)]
    attempts = lam.invocations("square")
    assert sorted(a.event["n"] for a in attempts) == list(range(16))
    assert len({a.request_id for a in attempts}) == 16
    assert thread_errors == []


def test_async_invokes_from_many_threads_all_run(lam, thread_errors):
    lam.add_function("record", lambda event, context: event["n"])
    run_in_threads(16, lambda n: invoke("record", {"n": n}, "Event"))
    lam.drain()
    succeeded = [a for a in lam.invocations("record") if a.ok]
    assert sorted(a.response for a in succeeded) == list(range(16))
    assert len(lam.timeline().select("queued", function_name="record")) == 16
    assert thread_errors == []


def test_overlapping_invocations_each_see_their_own_environment(lam, thread_errors):
    meet = threading.Barrier(2)

    def handler(event: Any, context: Any) -> dict[str, str]:
        meet.wait(MEET_S)  # both handlers are running now
        return {"colour": os.environ["COLOUR"], "name": os.environ["AWS_LAMBDA_FUNCTION_NAME"]}

    lam.add_function("red", handler, Environment={"Variables": {"COLOUR": "red"}})
    lam.add_function("blue", handler, Environment={"Variables": {"COLOUR": "blue"}})
    results = run_in_threads(2, lambda n: invoke(("red", "blue")[n], {}))
    assert results == [{"colour": "red", "name": "red"}, {"colour": "blue", "name": "blue"}]
    assert thread_errors == []


def test_invokes_from_threads_leave_the_process_environment_as_it_was(thread_errors):
    before = dict(os.environ)
    with mock_lambda_async() as lam:
        lam.add_function(
            "env", lambda event, context: None, Environment={"Variables": {"ONLY_IN": "lambda"}}
        )
        run_in_threads(12, lambda n: invoke("env", {}))
    assert dict(os.environ) == before
    assert thread_errors == []


def test_a_change_one_function_makes_to_its_environment_stays_with_it(lam, thread_errors):
    meet = threading.Barrier(2)

    def writer(event: Any, context: Any) -> str | None:
        before = os.environ.get("WRITTEN")
        os.environ["WRITTEN"] = context.function_name
        if event.get("meet"):
            meet.wait(MEET_S)
        return before

    lam.add_function("w1", writer)
    lam.add_function("w2", writer)
    run_in_threads(2, lambda n: invoke(f"w{n + 1}", {"meet": True}))
    # Each function's next (warm) invocation sees what it wrote itself, never the other's.
    assert invoke("w1", {}) == "w1"
    assert invoke("w2", {}) == "w2"
    assert "WRITTEN" not in os.environ


def test_threads_a_handler_starts_see_the_function_environment(lam):
    def handler(event: Any, context: Any) -> list[str]:
        with ThreadPoolExecutor(max_workers=3) as pool:
            return list(pool.map(lambda key: os.environ[key], ["TABLE", "TABLE", "TABLE"]))

    lam.add_function("pooled", handler, Environment={"Variables": {"TABLE": "orders"}})
    assert invoke("pooled", {}) == ["orders", "orders", "orders"]


def test_a_handler_thread_pool_invoking_sync_and_async_keeps_every_event(lam, thread_errors):
    lam.add_function("child", lambda event, context: {"got": event["n"]})

    def parent(event: Any, context: Any) -> list[Any]:
        client = boto3.client("lambda", region_name=REGION)

        def call(n: int) -> Any:
            kind = "RequestResponse" if n % 2 else "Event"
            response = client.invoke(
                FunctionName="child", InvocationType=kind, Payload=json.dumps({"n": n})
            )
            body = response["Payload"].read()
            return json.loads(body) if body else response["StatusCode"]

        with ThreadPoolExecutor(max_workers=4) as pool:
            return list(pool.map(call, range(10)))

    lam.add_function("parent", parent)
    results = invoke("parent", {})
    assert results == [202 if n % 2 == 0 else {"got": n} for n in range(10)]
    lam.drain()
    children = lam.invocations("child")
    assert sorted(a.event["n"] for a in children) == list(range(10))
    assert sorted(a.trigger for a in children) == ["async"] * 5 + ["sync"] * 5
    assert all(a.ok for a in children)
    assert all(a.finished for a in lam.invocations())
    assert thread_errors == []


def test_history_stays_consistent_when_threads_invoke_a_failing_function(lam, thread_errors):
    def flaky(event: Any, context: Any) -> int:
        if event["n"] % 3 == 0:
            raise ValueError(f"bad {event['n']}")
        return int(event["n"])

    lam.add_function("flaky", flaky)
    run_in_threads(12, lambda n: invoke("flaky", {"n": n}))
    attempts = lam.invocations("flaky")
    assert len(attempts) == 12
    assert all(a.finished for a in attempts)
    assert sorted(a.event["n"] for a in attempts if not a.ok) == [0, 3, 6, 9]
    outcomes = lam.timeline().select(function_name="flaky")
    assert sorted(e.kind for e in outcomes) == ["failed"] * 4 + ["succeeded"] * 8
    assert thread_errors == []


PACKAGE = """
import os

MARKER = {marker!r}


def handler(event, context):
    import helper
    return {{"marker": MARKER, "helper": helper.NAME, "cwd": os.path.basename(os.getcwd())}}
"""


def package(name: str) -> bytes:
    """A package whose handler imports a sibling module at call time; both name ``name``."""
    return make_zip(
        {
            "lambda_function.py": PACKAGE.format(marker=name),
            "helper.py": f"NAME = 'helper of {name}'\n",
        }
    )


def test_packaged_functions_invoked_from_threads_run_their_own_code(thread_errors):
    cwd, path, root = os.getcwd(), list(sys.path), logging.getLogger()
    handlers, level = list(root.handlers), root.level
    with mock_lambda_async():
        for name in ("pkg-a", "pkg-b"):
            boto3.client("lambda", region_name=REGION).create_function(
                FunctionName=name,
                Runtime="python3.12",
                Role=lambda_role(),
                Handler="lambda_function.handler",
                Code={"ZipFile": package(name)},
            )
        results = run_in_threads(8, lambda n: invoke(("pkg-a", "pkg-b")[n % 2], {}))
        for n, result in enumerate(results):
            name = ("pkg-a", "pkg-b")[n % 2]
            assert (result["marker"], result["helper"]) == (name, f"helper of {name}")
            assert result["cwd"].startswith(name)
    assert (os.getcwd(), sys.path) == (cwd, path)
    assert (root.handlers, root.level) == (handlers, level)
    assert "lambda_function" not in sys.modules and "helper" not in sys.modules
    assert thread_errors == []


def test_overlapping_invocations_restore_the_root_logger(thread_errors):
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    meet = threading.Barrier(3)

    def handler(event: Any, context: Any) -> None:
        logging.getLogger().setLevel(logging.INFO)
        meet.wait(MEET_S)
        logging.info("logged %s", event["n"])

    with mock_lambda_async() as lam:
        lam.add_function("logs", handler)
        run_in_threads(3, lambda n: invoke("logs", {"n": n}))
        logged = [a.log for a in lam.invocations("logs")]
    assert (root.handlers, root.level) == (handlers, level)
    assert sorted(
        next(line for line in log.splitlines() if "logged" in line)[-1] for log in logged
    ) == [
        "0",
        "1",
        "2",
    ]
    assert thread_errors == []


def test_an_invocation_ending_first_keeps_the_logging_another_thread_set_up_later(thread_errors):
    """A starts, B starts, A raises the root level to INFO, B ends: A's INFO line is still logged."""
    a_running, b_running = threading.Event(), threading.Event()
    level_set, b_ended = threading.Event(), threading.Event()

    def handler(event: Any, context: Any) -> None:
        if event["n"] == "a":
            a_running.set()
            b_running.wait(MEET_S)
            logging.getLogger().setLevel(logging.INFO)
            level_set.set()
            b_ended.wait(MEET_S)
            logging.info("logged by a")
        else:
            b_running.set()
            level_set.wait(MEET_S)

    with mock_lambda_async() as lam:
        lam.add_function("logs", handler)
        first = threading.Thread(target=invoke, args=("logs", {"n": "a"}))
        first.start()
        a_running.wait(MEET_S)
        invoke("logs", {"n": "b"})
        b_ended.set()
        first.join()
        (a,) = [i for i in lam.invocations("logs") if i.event == {"n": "a"}]
    assert "logged by a" in a.log
    assert thread_errors == []


def test_api_calls_from_many_threads_never_raise_from_the_mock(lam, thread_errors):
    lam.add_function("tick", lambda event, context: None)

    def calls(n: int) -> int:
        client = boto3.client("lambda", region_name=REGION)
        for _ in range(10):
            client.invoke(FunctionName="tick", InvocationType="Event", Payload=b"{}")
            client.get_function(FunctionName="tick")
        return n

    assert run_in_threads(8, calls) == list(range(8))
    lam.drain()
    assert len(lam.invocations("tick")) == 80
    assert thread_errors == []


@pytest.mark.lambda_async(auto_drain=False)
def test_a_drain_while_another_thread_drains_waits_for_it(lam, thread_errors, monkeypatch):
    running, release = threading.Event(), threading.Event()

    def handler(event: Any, context: Any) -> None:
        if event["n"] == 1:
            running.set()
            release.wait(MEET_S)  # held until the test's own drain is waiting

    lam.add_function("slow", handler)
    for n in (1, 2):
        invoke("slow", {"n": n}, "Event")
    idle = lam.scheduler._idle
    wait = idle.wait

    def waiting(*args: Any) -> bool:
        release.set()
        return wait(*args)

    monkeypatch.setattr(idle, "wait", waiting)
    other = threading.Thread(target=lam.drain)
    other.start()
    running.wait(MEET_S)
    lam.drain()  # refused before ("from inside a running invocation"); now it waits
    assert [a.ok for a in lam.invocations("slow")] == [True, True]
    other.join(MEET_S)
    assert thread_errors == []
