#!/usr/bin/env bash
# Regenerates the golden outputs of goldenpath's template engine from the real engines Backstage uses:
#   internal/scaffold/expr/testdata/nunjucks/golden.json     (nunjucks renders cases.json)
#   internal/scaffold/actions/testdata/catalog-write/*.yaml  (yaml.stringify writes each entity, as catalog:write does)
#   internal/scaffold/expr/testdata/yaml/random.json         (yaml.stringify of pseudo-random JSON values)
#   internal/scaffold/expr/testdata/nunjucks/random.json     (nunjucks renders pseudo-random filter chains)
# The tests (go test ./internal/scaffold/...) compare with these files and need neither Node nor npm; run this
# after adding a case. Needs node and npm; the packages are cached in $GOLDENPATH_CACHE (default
# $HOME/.cache/goldenpath). NUNJUCKS_VERSION and YAML_VERSION pick other versions.
set -euo pipefail
NV=${NUNJUCKS_VERSION:-3.2.4}; YV=${YAML_VERSION:-2.9.1}
CACHE=${GOLDENPATH_CACHE:-$HOME/.cache/goldenpath}
DIR=$CACHE/backstage-engines-nunjucks-$NV-yaml-$YV
ROOT=$(cd "$(dirname "$0")/.." && pwd)

if [ ! -d "$DIR/node_modules/nunjucks" ] || [ ! -d "$DIR/node_modules/yaml" ]; then
  mkdir -p "$DIR"
  (cd "$DIR" && echo '{"private": true}' > package.json && npm install --silent --no-audit --no-fund "nunjucks@$NV" "yaml@$YV" >&2)
fi
export NODE_PATH=$DIR/node_modules
node "$ROOT/internal/scaffold/expr/testdata/nunjucks/golden.js" > "$ROOT/internal/scaffold/expr/testdata/nunjucks/golden.json.tmp"
mv "$ROOT/internal/scaffold/expr/testdata/nunjucks/golden.json.tmp" "$ROOT/internal/scaffold/expr/testdata/nunjucks/golden.json"
node "$ROOT/internal/scaffold/actions/testdata/catalog-write/golden.js"
node "$ROOT/internal/scaffold/expr/testdata/yaml/golden.js"
node "$ROOT/internal/scaffold/expr/testdata/nunjucks/random.js"
echo "golden files written with nunjucks $NV and yaml $YV" >&2
