# hack/lib.sh: shell functions the hack/ scripts share about Go modules.
# Source it; it defines functions only.

# moddir MODULE@VERSION prints the directory of the module's source tree,
# downloading it from the module proxy (it is read-only).
moddir() {
	go mod download -json "$1" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p'
}

# modgomod MODULE@VERSION prints the path of the release's go.mod file.
modgomod() {
	go mod download -json "$1" | sed -n 's/^\t"GoMod": "\(.*\)",$/\1/p'
}

# modcopy MODULE@VERSION DIR copies the module's source tree to DIR,
# writable, and fails when the proxy gave none.
modcopy() {
	local src
	src=$(moddir "$1")
	if [ -z "$src" ]; then
		echo "$1: go mod download gave no directory" >&2
		return 1
	fi
	cp -r "$src" "$2"
	chmod -R u+w "$2"
}

# godirective GOMOD prints the go directive of the go.mod file GOMOD.
godirective() {
	go mod edit -json "$1" | sed -n 's/^\t"Go": "\(.*\)",$/\1/p'
}

# requirements GOMOD prints "module version" for every requirement of the
# go.mod file GOMOD, direct and indirect.
requirements() {
	go mod edit -json "$1" | sed -n 's/^\t\t\t"Path": "\(.*\)",$/\1/p; s/^\t\t\t"Version": "\([^"]*\)",\{0,1\}$/\1/p' | paste - -
}

# notAbove A B: version A is B or older.
notAbove() {
	[ "$1" = "$2" ] || [ "$(printf '%s\n%s\n' "$1" "$2" | sort -V | tail -n 1)" = "$2" ]
}

# busybox_rootfs DIR makes DIR a root file system of the host's static
# busybox: every applet, and root and bin in /etc/passwd and /etc/group.
busybox_rootfs() {
	local applet
	mkdir -p "$1/bin" "$1/etc" "$1/tmp"
	cp /bin/busybox "$1/bin/"
	for applet in $(/bin/busybox --list); do
		[ "$applet" = busybox ] || ln -s busybox "$1/bin/$applet"
	done
	printf 'root:x:0:0:root:/root:/bin/sh\nbin:x:1:1:bin:/bin:/sbin/nologin\n' >"$1/etc/passwd"
	printf 'root:x:0:\nbin:x:1:\n' >"$1/etc/group"
}
