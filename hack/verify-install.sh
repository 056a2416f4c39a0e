#!/usr/bin/env bash
# Install capgen as a distribution package would (make install DESTDIR=D
# PREFIX=/usr) into a temporary directory, and check the tree it wrote: the
# binaries run, the man pages render, the completions parse in bash, and
# the hook file names the installed capgen. Prints the tree.
set -euo pipefail
cd "$(dirname "$0")/.."

dest=$(mktemp -d)
trap 'rm -rf "$dest"' EXIT
make --no-print-directory install DESTDIR="$dest" PREFIX=/usr >/dev/null

(cd "$dest" && find . -type f | sort | sed 's|^\.||')
want=(/usr/bin/capgen /usr/bin/capshim /usr/share/man/man1/capgen.1 /usr/share/man/man1/capshim.1
	/usr/share/bash-completion/completions/capgen /usr/share/zsh/site-functions/_capgen
	/usr/share/fish/vendor_completions.d/capgen.fish /usr/share/containers/capgen/hooks.d/99-capgen.json)
for f in "${want[@]}"; do
	[ -s "$dest$f" ] || { echo "verify-install: $f not installed" >&2; exit 1; }
done
[ "$(cd "$dest" && find . -type f | wc -l)" -eq ${#want[@]} ] || { echo "verify-install: files beyond ${want[*]}" >&2; exit 1; }

"$dest/usr/bin/capgen" --version | head -1
for bin in capgen capshim; do
	if readelf -l "$dest/usr/bin/$bin" | grep -q 'program interpreter'; then
		echo "verify-install: $bin is dynamically linked: a sandboxed runtime's trial cannot run it" >&2
		exit 1
	fi
done
for page in capgen capshim; do
	out=$(MANWIDTH=80 man -l "$dest/usr/share/man/man1/$page.1" 2>&1)
	grep -q "^NAME" <<<"$out" || { echo "verify-install: man -l $page.1 did not render: $out" >&2; exit 1; }
	echo "man -l $page.1: $(grep -A1 '^NAME' <<<"$out" | tail -1 | sed 's/^ *//')"
done
bash -n "$dest/usr/share/bash-completion/completions/capgen"
bash -c ". '$dest/usr/share/bash-completion/completions/capgen' && complete -p capgen"
path=$(sed -n 's/.*"path": "\(.*\)".*/\1/p' "$dest/usr/share/containers/capgen/hooks.d/99-capgen.json")
[ "$path" = /usr/bin/capgen ] || { echo "verify-install: the hook file names $path" >&2; exit 1; }
echo "verify-install: ok"
