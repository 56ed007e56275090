#!/usr/bin/env bash
# A real Kubernetes API server for goldenpath's tests (internal/edge TestServerSideDryRun), with no cluster
# and no containers.
#   kube-apiserver.sh build          build kube-apiserver from the k8s.io/kubernetes Go module
#                                    (cached in $CACHE; ~25 min cold on 2 busy cores, ~1.5 min with a warm Go build cache)
#   kube-apiserver.sh path           print the binary's path; exit 1 if it is not built yet
#   kube-apiserver.sh start DIR      start etcd + kube-apiserver on loopback, write DIR/kubeconfig,
#                                    DIR/pids; prints KUBECONFIG=DIR/kubeconfig when ready
#   kube-apiserver.sh stop DIR       stop what start started
# Needs: Go, openssl, curl, python3 and etcd (Debian package etcd-server; installed if missing and root).
# The cache is $GOLDENPATH_CACHE, by default $HOME/.cache/goldenpath; K8S_VERSION picks another 1.x.y.
set -euo pipefail
V=${K8S_VERSION:-1.34.4}; SV=0.${V#1.}
CACHE=${GOLDENPATH_CACHE:-$HOME/.cache/goldenpath}
BIN=$CACHE/kube-apiserver-v$V

build() {
  [ -x "$BIN" ] && { echo "$BIN"; return; }
  local w t0=$SECONDS; w=$(mktemp -d); mkdir -p "$CACHE"
  echo "building kube-apiserver v$V into $BIN (~25 min cold on 2 cores)" >&2
  printf 'module kas\n\ngo 1.26\n\nrequire k8s.io/kubernetes v%s\n' "$V" > "$w/go.mod"
  for m in api apiextensions-apiserver apimachinery apiserver cli-runtime client-go cloud-provider \
    cluster-bootstrap code-generator component-base component-helpers controller-manager cri-api \
    cri-client csi-translation-lib dynamic-resource-allocation endpointslice externaljwt kms \
    kube-aggregator kube-controller-manager kube-proxy kube-scheduler kubectl kubelet metrics \
    mount-utils pod-security-admission sample-apiserver sample-cli-plugin sample-controller; do
    echo "replace k8s.io/$m => k8s.io/$m v$SV" >> "$w/go.mod"
  done
  printf '//go:build tools\npackage kas\nimport _ "k8s.io/kubernetes/cmd/kube-apiserver"\n' > "$w/tools.go"
  (cd "$w" && go mod tidy >/dev/null && go build -o "$BIN.tmp" k8s.io/kubernetes/cmd/kube-apiserver)
  mv "$BIN.tmp" "$BIN"; rm -rf "$w"
  echo "built kube-apiserver v$V in $((SECONDS - t0)) s" >&2
  echo "$BIN"
}

path() { echo "$BIN"; [ -x "$BIN" ]; }

need_etcd() {
  command -v etcd >/dev/null && return
  if [ "$(id -u)" != 0 ]; then
    echo "etcd is not installed: apt-get install etcd-server (as root)" >&2; return 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq etcd-server >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq etcd-server >/dev/null; }
}

# freeports prints three distinct free loopback ports (one interpreter start: python3 is slow on a busy machine).
freeports() {
  python3 -c 'import socket
ss = [socket.socket() for _ in range(3)]
for s in ss: s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in ss))'
}

start() {
  local d=$1; mkdir -p "$d"; d=$(cd "$d" && pwd)
  [ -x "$BIN" ] || build >/dev/null
  need_etcd
  local ep pp ap; read -r ep pp ap < <(freeports)
  etcd --data-dir "$d/etcd" --listen-client-urls "http://127.0.0.1:$ep" --advertise-client-urls "http://127.0.0.1:$ep" \
    --listen-peer-urls "http://127.0.0.1:$pp" >"$d/etcd.log" 2>&1 & echo $! > "$d/pids"
  openssl req -x509 -newkey rsa:2048 -nodes -keyout "$d/apiserver.key" -out "$d/apiserver.crt" -days 2 \
    -subj "/CN=127.0.0.1" -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" 2>/dev/null
  openssl genrsa -out "$d/sa.key" 2048 2>/dev/null; openssl rsa -in "$d/sa.key" -pubout -out "$d/sa.pub" 2>/dev/null
  local tok; tok=$(openssl rand -hex 16); echo "$tok,admin,admin,system:masters" > "$d/tokens.csv"
  "$BIN" --etcd-servers="http://127.0.0.1:$ep" --secure-port="$ap" --bind-address=127.0.0.1 \
    --tls-cert-file="$d/apiserver.crt" --tls-private-key-file="$d/apiserver.key" \
    --service-account-issuer=https://localhost --service-account-key-file="$d/sa.pub" \
    --service-account-signing-key-file="$d/sa.key" --token-auth-file="$d/tokens.csv" \
    --authorization-mode=RBAC --service-cluster-ip-range=10.0.0.0/24 --cert-dir="$d" >"$d/apiserver.log" 2>&1 &
  echo $! >> "$d/pids"
  cat > "$d/kubeconfig" <<KC
apiVersion: v1
kind: Config
clusters: [{name: local, cluster: {server: "https://127.0.0.1:$ap", certificate-authority: "$d/apiserver.crt"}}]
users: [{name: admin, user: {token: "$tok"}}]
contexts: [{name: local, context: {cluster: local, user: admin}}]
current-context: local
KC
  for _ in $(seq 360); do
    [ "$(curl -s --cacert "$d/apiserver.crt" -H "Authorization: Bearer $tok" "https://127.0.0.1:$ap/readyz" || true)" = ok ] && { echo "KUBECONFIG=$d/kubeconfig"; return; }
    sleep 0.25
  done
  echo "kube-apiserver did not become ready; see $d/apiserver.log" >&2; stop "$d"; return 1
}

stop() {
  local d=$1 p; [ -f "$d/pids" ] || return 0
  for p in $(tac "$d/pids"); do   # apiserver first, then etcd
    kill "$p" 2>/dev/null || continue
    for _ in $(seq 20); do kill -0 "$p" 2>/dev/null || break; sleep 0.25; done
    kill -9 "$p" 2>/dev/null || true
  done
  rm -f "$d/pids"
}

case "${1:-}" in
  build) build ;;
  path) path ;;
  start) start "${2:?dir}" ;;
  stop) stop "${2:?dir}" ;;
  *) sed -n '2,12p' "$0"; exit 2 ;;
esac
