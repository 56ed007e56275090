#!/usr/bin/env bash
# Score conformance: goldenpath's rendering of the workloads under internal/score/testdata/conformance (written
# for goldenpath in the shape of the public Score examples, score-spec/examples) compared, aspect by aspect,
# with what score-k8s generates from the same files (internal/score TestScoreK8sConformance). The differences
# that are goldenpath's by design are skipped there by name, with the reason, and listed in docs/delivery.md.
#
#   conformance-score.sh [run]   the comparison (CI). score-k8s's output for each case is kept beside it
#                                (score-k8s.yaml, made by score-k8s $SCORE_K8S_VERSION); when score-k8s is built
#                                in the cache, it also generates its output again, which must come to the same.
#   conformance-score.sh build   build score-k8s $SCORE_K8S_VERSION into the cache: from the Go module proxy or,
#                                where the proxy does not serve it (it does not today), from checkouts of its
#                                source at that tag ($SCORE_K8S_SRC) and of score-go at the version its go.mod
#                                names ($SCORE_GO_SRC, not served either); exit 1 when neither is possible.
#   conformance-score.sh examples  the same comparison on the Score examples themselves, from a checkout
#                                ($SCORE_EXAMPLES: its specification/*, resources/* and samples/*/*); needs
#                                score-k8s built.
#   conformance-score.sh update  rewrite the kept output from score-k8s (after reading what changed).
# The cache is $GOLDENPATH_CACHE, by default $HOME/.cache/goldenpath.
set -euo pipefail
cd "$(dirname "$0")/.."
V=${SCORE_K8S_VERSION:-0.15.0}
CACHE=${GOLDENPATH_CACHE:-$HOME/.cache/goldenpath}
DIR=$CACHE/score-k8s-$V
BIN=$DIR/score-k8s

build() {
  if [ -x "$BIN" ]; then
    echo "score-k8s $V is built: $BIN" >&2
    return
  fi
  mkdir -p "$DIR"
  local t0=$SECONDS
  if GOBIN="$DIR" go install "github.com/score-spec/score-k8s/cmd/score-k8s@v$V" 2>"$DIR/proxy.err"; then
    echo "built score-k8s $V from the Go module proxy in $((SECONDS - t0)) s" >&2
    return
  fi
  if [ -z "${SCORE_K8S_SRC:-}" ] || [ ! -f "$SCORE_K8S_SRC/cmd/score-k8s/main.go" ]; then
    echo "score-k8s $V is not built: the Go module proxy does not serve it ($(tail -1 "$DIR/proxy.err" | sed 's/^[[:space:]]*//'));" \
      "set SCORE_K8S_SRC to a checkout of its source at tag $V (and SCORE_GO_SRC to one of score-go) to build it" >&2
    return 1
  fi
  # A copy of the checkout, so that pointing it at score-go's checkout leaves the checkout as it was.
  local work status=0
  work=$(mktemp -d)
  cp -R "$SCORE_K8S_SRC/." "$work/"
  (
    cd "$work"
    if [ -n "${SCORE_GO_SRC:-}" ]; then
      go mod edit -replace "github.com/score-spec/score-go=$(cd "$SCORE_GO_SRC" && pwd)"
    fi
    go build -trimpath -o "$BIN.tmp" ./cmd/score-k8s
  ) || status=$?
  rm -rf "$work"
  [ "$status" -eq 0 ] || return "$status"
  mv "$BIN.tmp" "$BIN"
  echo "built score-k8s $V from $SCORE_K8S_SRC in $((SECONDS - t0)) s" >&2
}

# compare runs the comparison test with the given go test arguments and prints what it found: each case's
# result, the differences by design and the summary line.
compare() {
  local status=0
  go test ./internal/score -count=1 -v "$@" >"$LOG" 2>&1 || status=$?
  grep -E '^(\s*--- (PASS|FAIL|SKIP)|ok|FAIL|PASS)|skipped, by design|score-k8s conformance:|differs from score-k8s|does not render|generates something else' "$LOG" || true
  if [ "$status" -ne 0 ]; then
    echo "the Score conformance test failed; its whole output:" >&2
    cat "$LOG" >&2
  fi
  return "$status"
}

LOG=$(mktemp)
trap 'rm -f "$LOG"' EXIT

case "${1:-run}" in
build) build ;;
run)
  if build 2>/dev/null; then
    echo "comparing goldenpath with score-k8s $V ($BIN), and score-k8s with its kept output" >&2
    compare -run 'TestScoreK8sConformance$' -score-k8s "$BIN"
  else
    echo "comparing goldenpath with the output of score-k8s $V kept in internal/score/testdata/conformance" \
      "(score-k8s itself is not built here: scripts/conformance-score.sh build says why)" >&2
    compare -run 'TestScoreK8sConformance$'
  fi
  ;;
examples)
  [ -f "${SCORE_EXAMPLES:-}/specification/README.md" ] || { echo "set SCORE_EXAMPLES to a checkout of score-spec/examples" >&2; exit 2; }
  build
  compare -run 'TestScoreExamples$' -score-k8s "$BIN" -score-examples "$(cd "$SCORE_EXAMPLES" && pwd)"
  ;;
update)
  build
  compare -run 'TestScoreK8sConformance$' -score-k8s "$BIN" -update-score-k8s
  ;;
*) echo "usage: $0 [run|build|examples|update]" >&2; exit 2 ;;
esac
