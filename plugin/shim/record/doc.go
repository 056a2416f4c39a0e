// Package record is the part of capgen's runtime shim that a command for
// an existing container needs: the OCI runtime command line as runc and
// crun read it, and the shim's record of which real runtime created each
// container. It imports nothing of containers/common, so that the light
// entry point cmd/capshim, which passes such commands straight through,
// starts as fast as a small Go program can.
package record
