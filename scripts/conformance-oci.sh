#!/usr/bin/env bash
# The OCI distribution-spec conformance suites (github.com/opencontainers/distribution-spec, conformance/) against
# goldenpath's embedded registry, on repositories obtained the documented way: a developer files ECRRequests, an
# approver merges them, the requests are Ready, and the suite logs in with the developer's name and an API token.
#   conformance-oci.sh build [SUITE...]   build the suites from the Go module proxy into
#                                         $CACHE/oci-conformance-<version>/ (cached; ~1 min cold)
#   conformance-oci.sh run [SUITE...]     build if needed, start goldenpath on free loopback ports with a temp data
#                                         dir, request the repositories, run each suite, stop goldenpath; exit 1 if a
#                                         suite fails. Reports stay in $OCI_RESULTS (default: a temp dir, printed).
# SUITE is v1.1 (the 1.1 line's ginkgo suite, built with go test -c) or main (the redesigned suite); default both.
# The proxy serves the conformance module only at the pseudo-versions pinned below: the v1.1.1 tag's conformance/ is
# not published as a module. To run another checkout of the 1.1 line's conformance/ (e.g. tag v1.1.1), set
# OCI_CONFORMANCE_V1_SRC=DIR (its version name: OCI_CONFORMANCE_V1_NAME, default "src").
# GOLDENPATH_BIN runs an already-built goldenpath instead of building this tree's.
# The cache is $GOLDENPATH_CACHE, by default $HOME/.cache/goldenpath.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin"
CACHE=${GOLDENPATH_CACHE:-$HOME/.cache/goldenpath}
MODULE=github.com/opencontainers/distribution-spec/conformance
V1_VERSION=v0.0.0-20231101194043-f2182352d4cc    # the 1.1 line (part of v1.1.0): ginkgo, OCI_ROOT_URL etc.
MAIN_VERSION=v0.0.0-20260831232431-97274622c111  # main: the redesigned suite, OCI_REGISTRY etc.

# Tests skipped by name, with the reason (each is a documented limit in docs/local-backends.md). Empty today:
# every test of both suites passes. The main suite's sparse-manifest data set stays off (OCI_DATA_SPARSE=false
# below, its default): goldenpath refuses a manifest whose blobs or child manifests are not in the repository,
# which the spec allows (MANIFEST_BLOB_UNKNOWN), so that a pull of what was pushed cannot fail.
V1_SKIP=''

v1_name() { if [ -n "${OCI_CONFORMANCE_V1_SRC:-}" ]; then echo "${OCI_CONFORMANCE_V1_NAME:-src}"; else echo "v1.1-${V1_VERSION##*-}"; fi; }
bin_of() {
  case $1 in
    v1.1) echo "$CACHE/oci-conformance-$(v1_name)/conformance.test" ;;
    main) echo "$CACHE/oci-conformance-main-${MAIN_VERSION##*-}/conformance" ;;
    *) echo "unknown suite $1: use v1.1 or main" >&2; return 2 ;;
  esac
}

build_one() {
  local bin t0=$SECONDS src w; bin=$(bin_of "$1")
  [ -x "$bin" ] && { echo "$bin"; return; }
  mkdir -p "$(dirname "$bin")"
  echo "building the OCI conformance suite $1 into $bin" >&2
  case $1 in
    v1.1)
      # A ginkgo test package: go test -c in a writable copy of the module.
      src=${OCI_CONFORMANCE_V1_SRC:-$(go mod download -json "$MODULE@$V1_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')}
      [ -f "$src/go.mod" ] || { echo "no conformance module at $src" >&2; return 1; }
      w=$(mktemp -d); cp -r "$src/." "$w"; chmod -R u+w "$w"
      (cd "$w" && GOFLAGS=-mod=mod go test -c -o "$bin.tmp" .)
      rm -rf "$w" ;;
    main)
      w=$(mktemp -d)
      GOBIN=$w go install "$MODULE@$MAIN_VERSION"
      mv "$w/conformance" "$bin.tmp"; rm -rf "$w" ;;
  esac
  mv "$bin.tmp" "$bin"
  echo "built $1 in $((SECONDS - t0)) s" >&2
  echo "$bin"
}

# goldenpath: started once for all suites, on free ports, with a throwaway data dir.
GP_DIR='' GP_PID=''
stop_goldenpath() {
  [ -n "$GP_PID" ] || return 0
  kill -INT "$GP_PID" 2>/dev/null || true
  for _ in $(seq 40); do kill -0 "$GP_PID" 2>/dev/null || break; sleep 0.25; done
  kill -9 "$GP_PID" 2>/dev/null || true
  GP_PID=''
  rm -rf "$GP_DIR"
}

start_goldenpath() {
  GP_DIR=$(mktemp -d "${TMPDIR:-/tmp}/goldenpath-oci.XXXXXX")
  local gp=${GOLDENPATH_BIN:-}
  if [ -z "$gp" ]; then gp=$GP_DIR/goldenpath; go build -o "$gp" ./cmd/goldenpath; fi
  GP="$gp --data-dir $GP_DIR/data"
  $GP up --addr 127.0.0.1:0 --s3-addr 127.0.0.1:0 --dns-addr 127.0.0.1:0 --gateway-addr 127.0.0.1:0 \
    --gateway-tls-addr 127.0.0.1:0 --log-level warn >"$GP_DIR/goldenpath.log" 2>&1 &
  GP_PID=$!
  for _ in $(seq 240); do
    [ -s "$GP_DIR/data/server.url" ] && break
    kill -0 "$GP_PID" 2>/dev/null || { cat "$GP_DIR/goldenpath.log" >&2; return 1; }
    sleep 0.25
  done
  [ -s "$GP_DIR/data/server.url" ] || { echo "goldenpath did not start; see $GP_DIR/goldenpath.log" >&2; return 1; }
  URL=$(cat "$GP_DIR/data/server.url")
}

# request_repos files an ECRRequest per repository as the developer "oci" (team conformance), has the approver
# merge each, and waits until it is Ready. large: the suites push a few hundred manifests.
request_repos() {
  $GP user add oci --role developer --team conformance >/dev/null
  $GP user add oci-approver --role approver --team platform >/dev/null
  TOKEN=$($GP user token oci)
  local approver n name; approver=$($GP user token oci-approver)
  for name in "$@"; do
    n=$(GOLDENPATH_TOKEN=$TOKEN $GP -o json request new ecr --name "$name" --env dev --size large |
      sed -n 's/^[[:space:]]*"change": \([0-9][0-9]*\),\{0,1\}$/\1/p' | head -1)
    [ -n "$n" ] || { echo "filing the ECRRequest $name gave no change request" >&2; return 1; }
    GOLDENPATH_TOKEN=$approver $GP change approve "$n" --merge >/dev/null
    GOLDENPATH_TOKEN=$TOKEN $GP request wait "ecr.dev.$name" >/dev/null
  done
}

run_v1() {
  local bin=$1 out=$2 skip=()
  [ -n "$V1_SKIP" ] && skip=(-ginkgo.skip "$V1_SKIP")
  mkdir -p "$out"
  (cd "$out" && env OCI_ROOT_URL="$URL" OCI_NAMESPACE=dev/oci-v1 OCI_CROSSMOUNT_NAMESPACE=dev/oci-v1-mount \
    OCI_USERNAME=oci OCI_PASSWORD="$TOKEN" OCI_TEST_PULL=1 OCI_TEST_PUSH=1 OCI_TEST_CONTENT_DISCOVERY=1 \
    OCI_TEST_CONTENT_MANAGEMENT=1 OCI_AUTOMATIC_CROSSMOUNT=true OCI_DELETE_MANIFEST_BEFORE_BLOBS=true \
    OCI_HIDE_SKIPPED_WORKFLOWS=false OCI_REPORT_DIR="$out" "$bin" -ginkgo.no-color "${skip[@]}" >"$out/output.txt" 2>&1)
}

run_main() {
  local bin=$1 out=$2
  mkdir -p "$out"
  (cd "$out" && env OCI_REGISTRY="${URL#http://}" OCI_TLS=disabled OCI_REPO1=dev/oci-main OCI_REPO2=dev/oci-main-mount \
    OCI_USERNAME=oci OCI_PASSWORD="$TOKEN" OCI_VERSION=1.1 OCI_RESULTS_DIR="$out" OCI_API_REFERRER=true \
    OCI_API_BLOBS_UPLOAD_CANCEL=true OCI_API_BLOBS_MOUNT_ANONYMOUS=true OCI_API_MANIFESTS_TAG_PARAM=true \
    OCI_DATA_SPARSE=false "$bin" >"$out/output.txt" 2>&1)
}

# summary prints one line per suite: passed, failed, skipped of the total.
summary() {
  case $1 in
    v1.1) grep -a -E '^(Ran [0-9]+ of|(SUCCESS|FAIL)! --)' "$2/output.txt" | tr '\n' ' ' ;;
    main) grep -a -E '^  (Pass|FAIL|Error|Skip|Disabled|Total)\.+:' "$2/output.txt" | tr -s ' .' | tr '\n' ';' ;;
  esac
}

run() {
  local suites=("$@") s bins=() status=0 t0=$SECONDS
  for s in "${suites[@]}"; do bins+=("$(build_one "$s")"); done
  local results=${OCI_RESULTS:-$(mktemp -d "${TMPDIR:-/tmp}/oci-conformance.XXXXXX")}
  trap stop_goldenpath EXIT
  start_goldenpath
  local repos=()
  for s in "${suites[@]}"; do
    case $s in v1.1) repos+=(oci-v1 oci-v1-mount) ;; main) repos+=(oci-main oci-main-mount) ;; esac
  done
  request_repos "${repos[@]}"
  for i in "${!suites[@]}"; do
    s=${suites[$i]}
    if "run_${s/v1.1/v1}" "${bins[$i]}" "$results/$s"; then
      echo "OCI conformance $s: PASS: $(summary "$s" "$results/$s")"
    else
      status=1
      echo "OCI conformance $s: FAIL: $(summary "$s" "$results/$s")"
      grep -a -E '^\s+\[FAIL\]|: FAIL$' "$results/$s/output.txt" | head -40 || true
    fi
  done
  echo "reports in $results ($((SECONDS - t0)) s)"
  return $status
}

cmd=${1:-}; shift || true
[ $# -gt 0 ] || set -- v1.1 main
case $cmd in
  build) for s in "$@"; do build_one "$s"; done ;;
  run) run "$@" ;;
  *) sed -n '2,16p' "$0"; exit 2 ;;
esac
