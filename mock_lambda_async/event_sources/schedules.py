"""Scheduled EventBridge rules (``rate(...)``, ``cron(...)``) firing on the virtual clock.

moto stores a rule's ``ScheduleExpression`` and never acts on it. While the mock is active every
scheduled rule on a default bus (put through the API, by moto's CloudFormation — a SAM
``Schedule`` event — or before the mock started) fires as virtual time passes: at each occurrence
its targets get the ``Scheduled Event`` AWS sends (shape of the recorded sample
``aws-lambda-java-libs/cloudwatch_event.json``), through the same target delivery as matched
events, so a Lambda target is invoked asynchronously under the target's ``RetryPolicy`` and
``DeadLetterConfig`` and other targets (SQS, logs) receive it from moto.

Timing [DOCS eb-scheduled-rule-pattern]: schedules run in UTC with a precision of one minute. A
cron rule fires at the start of every matching minute; here exactly on the minute (AWS fires within
that minute). INFERENCE (the documentation does not say when a rate's first occurrence comes): a
``rate(N unit)`` rule first fires N units after it is put, then every N units; a rule that existed
before the mock started counts from the start.

Schedules are not pending work: they fire while time is let pass with ``lam.advance(...)`` (and a
handler's or the test's virtual sleeps), never inside ``drain()`` or the settling before an AWS
call, which would otherwise never end. An occurrence whose time a drain jumped over is not fired;
the rule fires again at its next occurrence. A disabled rule fires nothing; a rule put again is
re-armed with its new expression; a deleted rule stops.
"""

from __future__ import annotations

import calendar
import re
import threading
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from ..clock import to_datetime
from ..interception import interceptor
from ..mock import on_start
from .push import send_scheduled_event

if TYPE_CHECKING:
    from ..mock import LambdaAsyncController

__all__ = ["Schedule", "parse_schedule"]

_RATE = re.compile(r"^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$")
_CRON = re.compile(r"^cron\((.+)\)$")
_UNIT_S = {"minute": 60, "hour": 3600, "day": 86400}
_MONTHS = {name.upper(): i for i, name in enumerate(calendar.month_abbr) if name}
#: EventBridge numbers days of the week 1 (SUN) to 7 (SAT).
_DAYS = {name: i + 1 for i, name in enumerate(("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"))}


class Schedule:
    """When a ``rate``/``cron`` expression fires: :meth:`after` gives the next occurrence."""

    def __init__(self, expression: str) -> None:
        self.expression = expression
        rate = _RATE.match(expression)
        if rate:
            self.rate_s: int | None = int(rate.group(1)) * _UNIT_S[rate.group(2).rstrip("s")]
            return
        self.rate_s = None
        cron = _CRON.match(expression)
        fields = cron.group(1).split() if cron else []
        if len(fields) != 6:
            raise ValueError(f"not a schedule expression: {expression!r}")
        minutes, hours, dom, months, dow, years = fields
        self._minutes = _values(minutes, 0, 59)
        self._hours = _values(hours, 0, 23)
        self._months = _values(months, 1, 12, _MONTHS)
        self._years = _values(years, 1970, 2199)
        self._dom = dom.upper()
        self._dow = dow.upper()
        if (self._dom == "?") == (self._dow == "?"):
            raise ValueError(f"{expression!r}: one of day-of-month and day-of-week must be '?'")
        self._check_day(2024, 1, 1)  # rejects a malformed day field now, not at the first fire

    def after(self, moment: datetime, armed: datetime) -> datetime | None:
        """The first occurrence strictly after ``moment`` (a rate counts from ``armed``)."""
        if self.rate_s is not None:
            periods = int((moment - armed).total_seconds() // self.rate_s) + 1
            return armed + timedelta(seconds=periods * self.rate_s)
        start = moment.replace(second=0, microsecond=0) + timedelta(minutes=1)
        day = start.date()
        for _ in range(366 * 5):
            if (
                day.year in self._years
                and day.month in self._months
                and self._check_day(day.year, day.month, day.day)
            ):
                for hour in sorted(self._hours):
                    for minute in sorted(self._minutes):
                        at = datetime(
                            day.year, day.month, day.day, hour, minute, tzinfo=timezone.utc
                        )
                        if at >= start:
                            return at
            day += timedelta(days=1)
        return None

    def _check_day(self, year: int, month: int, day: int) -> bool:
        last = calendar.monthrange(year, month)[1]
        weekday = (calendar.weekday(year, month, day) + 1) % 7 + 1  # Monday=0 -> MON=2
        if self._dom != "?":
            return _day_of_month(self._dom, year, month, day, last)
        return _day_of_week(self._dow, day, weekday, last)


def _values(field: str, low: int, high: int, names: dict[str, int] | None = None) -> set[int]:
    """A cron field of ``,``-separated ``*``, ``a``, ``a-b`` and ``/step`` parts."""
    result: set[int] = set()
    for part in field.upper().split(","):
        base, _, step_text = part.partition("/")
        step = int(step_text) if step_text else 1
        if base in ("*", "?"):
            first, last = low, high
        elif "-" in base:
            a, b = base.split("-", 1)
            first, last = _number(a, names), _number(b, names)
        else:
            first = _number(base, names)
            last = high if step_text else first
        if not (low <= first <= high and low <= last <= high) or step < 1:
            raise ValueError(f"cron field {field!r} is out of range {low}-{high}")
        result.update(range(first, last + 1, step))
    return result


def _number(text: str, names: dict[str, int] | None) -> int:
    if names and text in names:
        return names[text]
    if not text.isdigit():
        raise ValueError(f"cron value {text!r} is not a number")
    return int(text)


def _day_of_month(field: str, year: int, month: int, day: int, last: int) -> bool:
    """Day-of-month with ``L`` (last day), ``LW`` and ``nW`` (nearest weekday)."""
    if field == "L":
        return day == last
    if field.endswith("W"):
        target = last if field == "LW" else int(field[:-1])
        if target > last:
            return False
        weekday = calendar.weekday(year, month, target)  # Monday=0
        if weekday == 5:  # Saturday: the Friday before, or the Monday after on the 1st
            target = target - 1 if target > 1 else target + 2
        elif weekday == 6:  # Sunday: the Monday after, or the Friday before on the last day
            target = target + 1 if target < last else target - 2
        return day == target
    return day in _values(field, 1, 31)


def _day_of_week(field: str, day: int, weekday: int, last: int) -> bool:
    """Day-of-week (1 = SUN) with ``nL`` (last such day) and ``n#k`` (k-th such day)."""
    if "#" in field:
        name, _, nth = field.partition("#")
        return weekday == _number(name, _DAYS) and (day - 1) // 7 + 1 == int(nth)
    if field.endswith("L") and field != "L":
        return weekday == _number(field[:-1], _DAYS) and day + 7 > last
    if field == "L":
        return weekday == 7
    return weekday in _values(field, 1, 7, _DAYS)


def parse_schedule(expression: str) -> Schedule | None:
    """The schedule of a rule's expression, or ``None`` for one moto accepted that is not valid."""
    try:
        return Schedule(expression)
    except ValueError:
        return None


# -- arming moto's rules --------------------------------------------------------------------------
@dataclass(eq=False)
class _Armed:
    rule: Any
    schedule: Schedule
    armed: datetime


_LOCK = threading.Lock()
_ACTIVE = 0
_ORIGINAL_PUT_RULE: list[Any] = []


def _arm(controller: LambdaAsyncController, rule: Any) -> None:
    expression = getattr(rule, "scheduled_expression", None)
    schedule = parse_schedule(expression) if expression else None
    if schedule is None:
        return
    armed = _Armed(rule, schedule, controller.now())
    _set_next(controller, armed, controller.now())


def _set_next(controller: LambdaAsyncController, armed: _Armed, moment: datetime) -> None:
    occurrence = armed.schedule.after(moment, armed.armed)
    if occurrence is None:
        return
    due_ms = int(occurrence.timestamp() * 1000)
    controller.scheduler.call_when_passed(
        due_ms, lambda: _fire(controller, armed, due_ms), label=f"schedule {armed.rule.name}"
    )


def _fire(controller: LambdaAsyncController, armed: _Armed, due_ms: int) -> None:
    """One occurrence: send the Scheduled Event unless the rule changed, went or is disabled."""
    rule: Any = armed.rule
    from moto.events.models import events_backends

    try:
        bus = events_backends[rule.account_id][rule.region_name].event_buses[rule.event_bus_name]
    except KeyError:
        return
    current: Any = bus.rules.get(rule.name)
    if current is not rule:
        return  # deleted, or put again (and armed again then)
    now_ms = controller.clock.now_ms()
    late = now_ms - due_ms >= 60_000  # a drain jumped over this occurrence's minute
    if rule.state == "ENABLED" and not late:
        send_scheduled_event(rule, _scheduled_event(rule, due_ms))
    _set_next(controller, armed, to_datetime(now_ms if late else due_ms))


def _scheduled_event(rule: Any, due_ms: int) -> dict[str, Any]:
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": rule.account_id,
        "time": to_datetime(due_ms).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": rule.region_name,
        "resources": [rule.arn],
        "detail": {},
    }


def _put_rule(backend: Any, *args: Any, **kwargs: Any) -> Any:
    rule = _ORIGINAL_PUT_RULE[0](backend, *args, **kwargs)
    controller = interceptor().controller
    if controller is not None:
        _arm(controller, rule)
    return rule


@on_start
def _activate(controller: LambdaAsyncController) -> None:
    """Arm the scheduled rules moto already holds, and every rule put from now on."""
    global _ACTIVE
    from moto.events.models import EventsBackend, events_backends

    with _LOCK:
        if _ACTIVE == 0:
            _ORIGINAL_PUT_RULE[:] = [vars(EventsBackend)["put_rule"]]
            EventsBackend.put_rule = _put_rule  # type: ignore[method-assign,assignment]
        _ACTIVE += 1
    controller.add_cleanup(_deactivate)
    for regions in list(events_backends.values()):
        for backend in list(regions.values()):
            for bus in list(backend.event_buses.values()):
                for rule in list(bus.rules.values()):
                    _arm(controller, rule)


def _deactivate() -> None:
    global _ACTIVE
    from moto.events.models import EventsBackend

    with _LOCK:
        _ACTIVE -= 1
        if _ACTIVE == 0 and _ORIGINAL_PUT_RULE:
            EventsBackend.put_rule = _ORIGINAL_PUT_RULE.pop()  # type: ignore[method-assign]
