// Package record is the part of capgen's runtime shim that a command for
// an existing container needs: the OCI runtime command line as runc, crun
// and runsc read it, and the shim's record of which real runtime created each
// container. It imports nothing of containers/common, so that the light
// entry point cmd/capshim, which passes such commands straight through,
// starts as fast as a small Go program can.
package record

// Prefix is the prefix of the names under which capgen and capshim are a
// runtime shim: as capgen-NAME they are the OCI runtime NAME.
const Prefix = "capgen-"

// PassesThrough reports whether the shim passes command through to the
// runtime recorded for its container untouched: every command but those
// whose input the shim rewrites (create, run, exec), answers itself
// (features) or follows up (delete removes the record).
func PassesThrough(command string) bool {
	switch command {
	case "", "create", "run", "exec", "features", "delete":
		return false
	}
	return true
}
