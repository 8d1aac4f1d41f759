"""Compare the outcomes ``compat/moto_suite.sh`` recorded (``compat/moto_compat.py``'s JSON files).

``compare.py RESULTS candidates VARIANT`` prints the test ids that passed plain and failed with the
mock in ``VARIANT`` (``outside`` or ``inside``), one per line, for the script to run again alone.

``compare.py RESULTS report KNOWN`` sorts every such test by its runs on its own: a difference
(passes plain, fails with the mock), flaky (fails plain too, or passes with the mock), or, for
``outside``, nesting only (fails as well under a bare outer ``mock_aws``, with no mock of ours).
Differences are compared with ``KNOWN``; exit status 1 when one is not listed there.

``KNOWN`` holds one difference a line, ``test id | variants | kind | reason``: ``variants`` is
``both``, ``outside`` or ``inside``; ``kind`` is ``aws`` (real AWS behaves as the mock does) or
``clock`` (the virtual clock against moto's ``time.sleep``/freezegun use). ``#`` starts a comment.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path

VARIANTS = ("outside", "inside")
Outcomes = dict[str, list[str]]


@dataclass(frozen=True)
class Known:
    variants: tuple[str, ...]
    kind: str
    reason: str


def load(results: Path, name: str) -> Outcomes:
    """One run's outcomes; a full run is its parallel part plus its ``-serial`` part."""
    outcomes: Outcomes = {}
    for path in (results / f"{name}.json", results / f"{name}-serial.json"):
        if path.exists():
            outcomes.update(json.loads(path.read_text()))
    return outcomes


def candidates(results: Path, variant: str) -> list[str]:
    plain = load(results, "none")
    mocked = load(results, variant)
    return sorted(
        test
        for test, (outcome, _) in plain.items()
        if outcome == "passed" and mocked.get(test, ["failed"])[0] == "failed"
    )


def parse_known(path: Path) -> dict[str, Known]:
    known: dict[str, Known] = {}
    for number, line in enumerate(path.read_text().splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        fields = [field.strip() for field in line.split("|")]
        if (
            len(fields) != 4
            or fields[1] not in ("both", *VARIANTS)
            or fields[2] not in ("aws", "clock")
        ):
            raise SystemExit(
                f"{path}:{number}: expected 'test id | both|outside|inside | aws|clock | reason'"
            )
        variants = VARIANTS if fields[1] == "both" else (fields[1],)
        known[fields[0]] = Known(variants, fields[2], fields[3])
    return known


def report(results: Path, known_path: Path) -> int:
    known = parse_known(known_path)
    unexpected = 0
    for variant in VARIANTS:
        tests = candidates(results, variant)
        plain = load(results, f"rerun-{variant}-none")
        mocked = load(results, f"rerun-{variant}-{variant}")
        control = load(results, f"rerun-{variant}-moto")
        full = load(results, variant)
        differences: list[str] = []
        print(f"\n== mock {variant} the test's moto mock: {len(tests)} failed in the full run")
        for test in tests:
            reason = mocked.get(test, full.get(test, ["failed", "not run"]))[1]
            if plain.get(test, ["failed"])[0] != "passed":
                print(f"  flaky plain    {test}")
            elif mocked.get(test, ["failed"])[0] != "failed":
                print(f"  passed alone   {test}\n                 (full run: {full[test][1]})")
            elif control.get(test, ["passed"])[0] == "failed":
                print(f"  nesting only   {test}\n                 ({control[test][1]})")
            else:
                differences.append(test)
                entry = known.get(test)
                if entry is not None and variant in entry.variants:
                    print(f"  known ({entry.kind})    {test}")
                else:
                    unexpected += 1
                    print(f"  UNEXPECTED     {test}\n                 {reason}")
        for test, entry in sorted(known.items()):
            if variant in entry.variants and test not in differences:
                print(f"  no longer differs (remove from the list?)  {test}")
    print(f"\n{unexpected} unexpected difference(s)")
    return 1 if unexpected else 0


def main(argv: list[str]) -> int:
    if len(argv) == 3 and argv[1] == "candidates" and argv[2] in VARIANTS:
        sys.stdout.write("".join(f"{test}\n" for test in candidates(Path(argv[0]), argv[2])))
        return 0
    if len(argv) == 3 and argv[1] == "report":
        return report(Path(argv[0]), Path(argv[2]))
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
