package main

// A podmanCase is one podman run, on each runtime; with exec, a podman
// exec with those options into a container run with args.
type podmanCase struct {
	name     string
	args     []string
	module   string // containers.conf module passed with --module
	labelled bool   // the image labelled io.containers.capabilities
	exec     []string
}

var podmanCases = []podmanCase{
	{name: "defaults"},
	{name: "--privileged", args: []string{"--privileged"}},
	{name: "--cap-add=all", args: []string{"--cap-add=all"}},
	{name: "--cap-add=all --cap-drop=net_raw", args: []string{"--cap-add=all", "--cap-drop=net_raw"}},
	{name: "--user 1000 --cap-add=net_bind_service", args: []string{"--user", "1000", "--cap-add=net_bind_service"}},
	{name: `--module with default_capabilities = ["CHOWN", "NET_RAW"]`,
		module: "[containers]\ndefault_capabilities = [\"CHOWN\", \"NET_RAW\"]\n"},
	{name: "image labelled io.containers.capabilities=CHOWN,NET_BIND_SERVICE", labelled: true},
	{name: "--cap-add=39", args: []string{"--cap-add=39"}},
	{name: "--cap-add=ſys_admin", args: []string{"--cap-add=ſys_admin"}},
	{name: "exec (defaults)", exec: []string{}},
	{name: "exec --privileged (defaults)", exec: []string{"--privileged"}},
	{name: "exec --privileged (--privileged)", args: []string{"--privileged"}, exec: []string{"--privileged"}},
	{name: "exec --privileged --user 1000 (defaults)", exec: []string{"--privileged", "--user", "1000"}},
}

// A buildahCase is one buildah run, on each runtime unless chroot.
type buildahCase struct {
	name   string
	args   []string
	env    []string
	chroot bool // --isolation chroot, run once, with no usable OCI runtime
}

var buildahCases = []buildahCase{
	{name: "defaults"},
	{name: "--cap-add all", args: []string{"--cap-add", "all"}},
	{name: "--cap-drop all --cap-add net_raw", args: []string{"--cap-drop", "all", "--cap-add", "net_raw"}},
	{name: "--cap-add 39", args: []string{"--cap-add", "39"}},
	{name: "--isolation chroot, BUILDAH_RUNTIME=nosuchrt", env: []string{"BUILDAH_RUNTIME=nosuchrt"}, chroot: true},
	{name: "--isolation chroot --runtime /nonexistent/runc", args: []string{"--runtime", "/nonexistent/runc"}, chroot: true},
}
