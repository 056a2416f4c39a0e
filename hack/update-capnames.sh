#!/usr/bin/env bash
# Regenerate capnames/zz_generated.go and capnames/capabilities.json.
#
#   hack/update-capnames.sh                      # from /usr/include/linux/capability.h
#   hack/update-capnames.sh HEADER[=VERSION]...  # from kernel headers
#   hack/update-capnames.sh KERNEL_TREE...       # from kernel source trees
#
# The committed table is always merged in, so no capability or since-version
# is lost; capabilities(7) supplies since-versions when installed.
set -euo pipefail
cd "$(dirname "$0")/.."

args=()
for input in "$@"; do
	if [ -d "${input%%=*}" ]; then
		args+=(--kernel-tree "$input")
	else
		args+=(--header "$input")
	fi
done
go run ./cmd/capgen generate "${args[@]}"
go build ./capnames
