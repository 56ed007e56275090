#!/usr/bin/env bash
# The project's test command: vet, then every test. It starts a throwaway PostgreSQL for the RDS tests when
# GOLDENPATH_TEST_POSTGRES_URL is not set and the server binaries are installed (otherwise those parts skip,
# except under CI=true, where they fail).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin"

if [ -z "${GOLDENPATH_TEST_POSTGRES_URL:-}" ]; then
  pgdir=$(mktemp -d "${TMPDIR:-/tmp}/goldenpath-pg.XXXXXX")
  if url=$(scripts/test-postgres.sh start "$pgdir" 2>"$pgdir/start.err"); then
    export GOLDENPATH_TEST_POSTGRES_URL=$url
    trap 'scripts/test-postgres.sh stop "$pgdir"; rm -rf "$pgdir"' EXIT
    echo "test PostgreSQL: $url"
  else
    echo "no test PostgreSQL ($(cat "$pgdir/start.err")): the RDS parts of the tests will skip" >&2
  fi
fi

unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then
  echo "gofmt would change: $unformatted" >&2
  exit 1
fi
go vet ./...
go test -count=1 "$@" ./...
