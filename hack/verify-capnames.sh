#!/usr/bin/env bash
# Fail when the committed capability table is not what the generator makes
# of capnames/capabilities.json, or when this machine's kernel header defines
# a capability the table lacks. Fix with hack/update-capnames.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
go run ./cmd/capgen verify "$@"
