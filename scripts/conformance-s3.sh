#!/usr/bin/env bash
# S3 conformance: versitygw's own integration suite (`versitygw test full-flow`, github.com/versity/versitygw
# tests/integration) and the aws CLI, against a goldenpath started for them with an S3 admin key.
#   conformance-s3.sh build   build the suite's runner (test/conformance/s3) against the pinned versitygw, cached
#                             in $CACHE (~1.5 min cold on 2 cores)
#   conformance-s3.sh run     build if needed, start goldenpath (`goldenpath up` on loopback, admin key from
#                             GOLDENPATH_S3_ADMIN_KEY_FILE), run the suite (skipping by name what
#                             test/conformance/s3/skip.txt lists, with the reason), then an aws-CLI round trip:
#                             100 MiB multipart upload, download, copy between buckets, all checked byte for byte;
#                             and a browser form upload made with botocore's generate_presigned_post
# Needs: Go, and the aws CLI (Debian's awscli; installed if missing and root). VERSITYGW_VERSION picks another
# version of the suite; the cache is $GOLDENPATH_CACHE, by default $HOME/.cache/goldenpath.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin"
V=${VERSITYGW_VERSION:-1.8.0}
CACHE=${GOLDENPATH_CACHE:-$HOME/.cache/goldenpath}/versitygw-v$V
SRC=test/conformance/s3
# The runner is rebuilt when its own source changes, not only the suite's version.
HASH=$(cat "$SRC"/go.mod "$SRC"/go.sum "$SRC"/main.go "$SRC"/gen/main.go | sha256sum | cut -c1-12)
BIN=$CACHE/s3suite-$HASH

build() {
  [ -x "$BIN" ] && { echo "$BIN"; return; }
  local w t0=$SECONDS; w=$(mktemp -d); mkdir -p "$CACHE"
  echo "building versitygw v$V's integration suite into $BIN" >&2
  cp -r "$SRC"/. "$w"
  (
    cd "$w"
    if [ "$V" != 1.8.0 ]; then go get "github.com/versity/versitygw@v$V" >/dev/null 2>&1 && go mod tidy >/dev/null 2>&1; fi
    go mod download github.com/versity/versitygw
    dir=$(go list -m -f '{{.Dir}}' github.com/versity/versitygw)
    go run ./gen -groups "$dir/tests/integration/group-tests.go" -version "v$V" > fullflow_gen.go
    go build -o "$BIN.tmp" .
  )
  mv "$BIN.tmp" "$BIN"; rm -rf "$w"
  echo "built the suite in $((SECONDS - t0)) s" >&2
  echo "$BIN"
}

need_aws() {
  [ -x /usr/bin/aws ] && return
  if [ "$(id -u)" != 0 ]; then
    echo "the aws CLI is not installed: apt-get install awscli (as root)" >&2; return 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq --no-install-recommends awscli >/dev/null 2>&1 ||
    { apt-get update -qq && apt-get install -y -qq --no-install-recommends awscli >/dev/null; }
}

# start_goldenpath DIR: goldenpath up on free loopback ports with a fresh admin key; sets S3 and KEY_ID.
start_goldenpath() {
  local d=$1
  go build -o "$d/goldenpath" ./cmd/goldenpath
  KEY_ID=S3CONFORMANCE$(openssl rand -hex 8 | tr a-f A-F)
  export AWS_SECRET_ACCESS_KEY; AWS_SECRET_ACCESS_KEY=$(openssl rand -hex 24)
  (umask 077; printf '%s:%s\n' "$KEY_ID" "$AWS_SECRET_ACCESS_KEY" > "$d/admin.key")
  GOLDENPATH_S3_ADMIN_KEY_FILE=$d/admin.key "$d/goldenpath" up --data-dir "$d/data" --addr 127.0.0.1:0 \
    --s3-addr 127.0.0.1:0 --dns-addr off --gateway-addr off --log-level warn >"$d/goldenpath.log" 2>&1 &
  echo $! > "$d/pid"
  for _ in $(seq 240); do
    S3=$(sed -n 's/^  S3  *\(http:[^ ]*\).*/\1/p' "$d/goldenpath.log")
    [ -n "$S3" ] && return
    kill -0 "$(cat "$d/pid")" 2>/dev/null || break
    sleep 0.25
  done
  echo "goldenpath did not start:" >&2; cat "$d/goldenpath.log" >&2; return 1
}

stop_goldenpath() {
  local d=$1 p
  [ -f "$d/pid" ] || return 0
  p=$(cat "$d/pid"); kill "$p" 2>/dev/null || return 0
  for _ in $(seq 40); do kill -0 "$p" 2>/dev/null || return 0; sleep 0.25; done
  kill -9 "$p" 2>/dev/null || true
}

# The SDKs and the CLI read these; the run must not depend on the machine's AWS set-up (AWS_CA_BUNDLE makes
# the Go SDK refuse the suite's HTTP client).
clean_aws_env() {
  unset AWS_CA_BUNDLE AWS_PROFILE AWS_DEFAULT_PROFILE AWS_SESSION_TOKEN AWS_ENDPOINT_URL AWS_ENDPOINT_URL_S3
  export AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null AWS_DEFAULT_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true
}

suite() {
  local t0=$SECONDS
  AWS_ACCESS_KEY_ID=$KEY_ID "$BIN" -endpoint "$S3" -skip "$SRC/skip.txt" "$@"
  echo "versitygw suite: $((SECONDS - t0)) s" >&2
}

# aws_round_trip DIR: what a user does with the aws CLI: a 100 MiB multipart upload, the download, a
# server-side copy to another bucket (multipart: UploadPartCopy) and a download of the copy, byte for byte.
aws_round_trip() {
  local d=$1 t0=$SECONDS b1 b2
  b1=roundtrip-$RANDOM-a; b2=roundtrip-$RANDOM-b
  export AWS_ACCESS_KEY_ID=$KEY_ID
  local aws=(/usr/bin/aws --endpoint-url "$S3" --no-cli-pager)
  head -c $((100 << 20)) /dev/urandom > "$d/big"
  "${aws[@]}" s3 mb "s3://$b1" >/dev/null
  "${aws[@]}" s3 mb "s3://$b2" >/dev/null
  "${aws[@]}" s3 cp --only-show-errors "$d/big" "s3://$b1/dir/big.bin"
  "${aws[@]}" s3api head-object --bucket "$b1" --key dir/big.bin --query '[ContentLength,ETag]' --output text
  "${aws[@]}" s3 cp --only-show-errors "s3://$b1/dir/big.bin" "$d/big.down"
  "${aws[@]}" s3 cp --only-show-errors "s3://$b1/dir/big.bin" "s3://$b2/copy.bin"
  "${aws[@]}" s3 cp --only-show-errors "s3://$b2/copy.bin" "$d/big.copy"
  "${aws[@]}" s3 ls "s3://$b1/dir/"
  local want got1 got2
  want=$(sha256sum < "$d/big"); got1=$(sha256sum < "$d/big.down"); got2=$(sha256sum < "$d/big.copy")
  if [ "$got1" != "$want" ] || [ "$got2" != "$want" ]; then
    echo "aws CLI round trip: the bytes differ (upload ${want%% *}, download ${got1%% *}, copy ${got2%% *})" >&2
    return 1
  fi
  "${aws[@]}" s3 rm --only-show-errors --recursive "s3://$b1"
  "${aws[@]}" s3 rb "s3://$b1" >/dev/null
  echo "aws CLI round trip (100 MiB multipart upload, download, copy between buckets): ok in $((SECONDS - t0)) s" >&2
}

# boto_form_upload: a browser form upload as web apps make it: botocore's generate_presigned_post (the code
# boto3's calls; Debian's awscli package carries botocore), then a multipart/form-data POST of a file.
boto_form_upload() {
  local t0=$SECONDS b=forms-$RANDOM
  # (called as `boto_form_upload || rc=1`, where set -e does not apply: each step returns on failure)
  /usr/bin/aws --endpoint-url "$S3" --no-cli-pager s3 mb "s3://$b" >/dev/null || return 1
  /usr/bin/python3 - "$S3" "$b" <<'PY' || { echo "browser form upload (botocore's generate_presigned_post) failed" >&2; return 1; }
import json, sys, urllib.request, uuid
from awscli.botocore.config import Config
from awscli.botocore.session import Session
endpoint, bucket = sys.argv[1], sys.argv[2]
client = Session().create_client("s3", endpoint_url=endpoint, region_name="us-east-1",
                                 config=Config(s3={"addressing_style": "path"}))
post = client.generate_presigned_post(bucket, "forms/${filename}",
                                      Conditions=[["content-length-range", 1, 1 << 20]], ExpiresIn=600)
data, boundary = b"uploaded by a browser form\n", uuid.uuid4().hex
body = b"".join(b"--%s\r\nContent-Disposition: form-data; name=\"%s\"\r\n\r\n%s\r\n" % (boundary.encode(), k.encode(), v.encode())
                for k, v in post["fields"].items())
body += b"--%s\r\nContent-Disposition: form-data; name=\"file\"; filename=\"hello.txt\"\r\n\r\n%s\r\n--%s--\r\n" % (
    boundary.encode(), data, boundary.encode())
req = urllib.request.Request(post["url"], data=body, method="POST",
                             headers={"Content-Type": "multipart/form-data; boundary=" + boundary})
with urllib.request.urlopen(req) as resp:
    assert resp.status == 204, resp.status
got = client.get_object(Bucket=bucket, Key="forms/hello.txt")["Body"].read()
assert got == data, got
PY
  /usr/bin/aws --endpoint-url "$S3" --no-cli-pager s3 rm --only-show-errors --recursive "s3://$b"
  /usr/bin/aws --endpoint-url "$S3" --no-cli-pager s3 rb "s3://$b" >/dev/null
  echo "browser form upload (botocore's generate_presigned_post): ok in $((SECONDS - t0)) s" >&2
}

run() {
  build >/dev/null
  need_aws
  clean_aws_env
  local d; d=$(mktemp -d "${TMPDIR:-/tmp}/goldenpath-s3.XXXXXX")
  trap "stop_goldenpath '$d'; rm -rf '$d'" EXIT
  start_goldenpath "$d"
  local rc=0
  suite "$@" || rc=$?
  aws_round_trip "$d" || rc=1
  boto_form_upload || rc=1
  if [ $rc != 0 ]; then echo "goldenpath's log:" >&2; tail -n 50 "$d/goldenpath.log" >&2; fi
  return $rc
}

case "${1:-}" in
  build) build ;;
  run) shift; run "$@" ;;
  *) sed -n '2,13p' "$0"; exit 2 ;;
esac
