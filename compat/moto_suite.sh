#!/usr/bin/env bash
# moto's own tests as our compatibility test.
#
# Fetches the source distribution of the moto version installed for `python` (or $PYTHON) from the
# package index, and runs moto's tests for the services the mock touches three times: plain, with
# mock_lambda_async active outside each test's own moto mock, and inside it (compat/moto_compat.py).
# A test that passes plain and fails with the mock is run again on its own (plain, with the mock,
# and for "outside" with a bare outer mock_aws as the control) to set aside flaky and nesting-only
# failures; what is left is compared with compat/known_differences.txt. Exit status 1 when a
# difference is not in that list.
#
# Everything it installs goes into a virtualenv under $COMPAT_WORK (default
# /tmp/mock-lambda-async-compat/moto-<version>), pinned to the installed moto, boto3 and botocore.
# Runs take about 20 minutes on two cores; set COMPAT_WORKERS (default 2) for pytest-xdist.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
python=${PYTHON:-python}
installed() { "$python" -c "from importlib.metadata import version; print(version('$1'))"; }
moto_version=$(installed moto)
boto3_version=$(installed boto3)
botocore_version=$(installed botocore)
work=${COMPAT_WORK:-/tmp/mock-lambda-async-compat/moto-$moto_version}
workers=${COMPAT_WORKERS:-2}
venv=$work/venv
stamp="moto==$moto_version boto3==$boto3_version botocore==$botocore_version"
echo "moto $moto_version, boto3 $boto3_version, botocore $botocore_version; work dir $work"

mkdir -p "$work"
if [[ ! -f $venv/stamp || $(cat "$venv/stamp") != "$stamp" ]]; then
    rm -rf "$venv"
    "$python" -m venv "$venv"
    # moto's tests need every service extra and its server (a few start moto.server), freezegun,
    # and pytest-xdist; our package comes from the repo itself through PYTHONPATH.
    "$venv/bin/pip" install -q "moto[all,server]==$moto_version" "boto3==$boto3_version" \
        "botocore==$botocore_version" pytest pytest-xdist freezegun
    echo "$stamp" >"$venv/stamp"
fi

suite=$work/suite
if [[ ! -d $suite/tests ]]; then
    rm -rf "$work/sdist" "$suite"
    "$venv/bin/pip" download -q --no-deps --no-binary :all: "moto==$moto_version" -d "$work/sdist"
    tar -xzf "$work/sdist/moto-$moto_version.tar.gz" -C "$work/sdist"
    mkdir -p "$suite"
    # The tests and moto's pytest settings (markers), without the sdist's moto/ source: the
    # installed moto is the one under test.
    cp -r "$work/sdist/moto-$moto_version/tests" "$work/sdist/moto-$moto_version/pyproject.toml" "$suite/"
fi

tests=(
    tests/test_awslambda tests/test_awslambda_simple tests/test_sqs tests/test_sns tests/test_events
    tests/test_s3/test_s3_notifications.py tests/test_s3/test_s3_lambda_integration.py
    tests/test_logs tests/test_cloudwatch tests/test_kinesis tests/test_dynamodbstreams
)
results=$work/results
rm -rf "$results"
mkdir -p "$results"

# pytest exits 1 when tests fail; that is expected here (plain moto fails some of its own tests
# without Docker or a network), and 5 when a marker selects none. Any other status means the run
# itself broke.
run_pytest() {
    local rc=0
    (cd "$suite" && PYTHONPATH="$repo:$repo/compat" "$venv/bin/python" -m pytest -q -p moto_compat \
        -p no:cacheprovider -p no:randomly --color=no "$@") >>"$results/pytest.log" 2>&1 || rc=$?
    if ((rc != 0 && rc != 1 && rc != 5)); then
        echo "pytest exited $rc; see $results/pytest.log" >&2
        exit 2
    fi
}

# A full run: the parallel part, then the tests moto marks as needing a clean slate, one at a time.
full_run() {
    local mode=$1
    echo "$(date -u +%T) moto's tests, mock: $mode"
    run_pytest --compat-mock="$mode" --compat-results="$results/$mode.json" -n "$workers" \
        -m "not requires_clean_slate" "${tests[@]}"
    run_pytest --compat-mock="$mode" --compat-results="$results/$mode-serial.json" \
        -m requires_clean_slate "${tests[@]}"
}

for mode in none outside inside; do
    full_run "$mode"
done

compare=("$venv/bin/python" "$repo/compat/compare.py" "$results")
for variant in outside inside; do
    "${compare[@]}" candidates "$variant" >"$results/candidates-$variant.txt"
    if [[ -s $results/candidates-$variant.txt ]]; then
        echo "$(date -u +%T) again, one at a time: $(wc -l <"$results/candidates-$variant.txt") tests that failed with the mock $variant"
        modes=(none "$variant")
        [[ $variant == outside ]] && modes+=(moto)
        for mode in "${modes[@]}"; do
            run_pytest --compat-mock="$mode" --compat-results="$results/rerun-$variant-$mode.json" \
                -p no:xdist "@$results/candidates-$variant.txt"
        done
    fi
done

"${compare[@]}" report "$repo/compat/known_differences.txt"
