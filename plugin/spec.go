package plugin

// Rewriting the capabilities of a spec an engine already wrote: what the
// precreate hook and the runtime shim share.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/capgen-dev/capgen/capnames"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Annotations the precreate hook and the runtime shim look for in a spec.
// An annotation alone never widens a container: images, users and pod specs
// can set annotations, and engines copy them into the spec (Podman 4.0 to
// 4.5 copies an image's, every Podman a user's and a kube YAML's, CRI a
// pod's). docs/security.md lists every input capgen reads.
const (
	// CapabilitiesAnnotation is capgen's former request for every
	// capability. Up to commit 2d0648b the hook widened any container
	// carrying it, so an image could carry its own escalation; it is now
	// ignored, with a warning, whatever its value.
	CapabilitiesAnnotation = "io.github.capgen-dev.capabilities"
	// PodmanPrivilegedAnnotation is the annotation Podman writes into a
	// container's spec for --privileged
	// (libpod/define.InspectAnnotationPrivileged). The hook widens for it
	// only with [Target.TrustPrivileged]; the shim never does.
	PodmanPrivilegedAnnotation = "io.podman.annotations.privileged"
	// PodmanTrue is the value Podman writes for a true boolean annotation
	// (libpod/define.InspectResponseTrue).
	PodmanTrue = "TRUE"
	// PodmanFalse is the value Podman writes for a false one.
	PodmanFalse = "FALSE"
)

// MaxSpecSize is the size of the largest config.json the hook and the shim
// read: 16 MiB, far above any spec an engine writes.
const MaxSpecSize = 16 << 20

// ErrInvalidSpec is wrapped by every error about a config.json given to be
// rewritten: not JSON, not a runtime spec, too large, or a capabilities
// list that is not a list of strings.
var ErrInvalidSpec = errors.New("invalid runtime spec")

// Target is what a spec's capabilities are rewritten for
// ([RewriteCapabilities], [FilterConfig]): the running kernel and the
// bounding set of the process that will start the container, the OCI
// runtime that will apply them, the form of the entries, and whether the
// engine's privileged marker is trusted.
type Target struct {
	// Env is the kernel, the bounding set and the capability table.
	Env Env
	// Features is what the runtime accepts; nil is an unknown runtime.
	Features *Features
	// Policy is the form of the entries written for the runtime.
	Policy Policy
	// TrustPrivileged widens containers that Podman marks privileged
	// ([PodmanPrivilegedAnnotation] is [PodmanTrue]). It is the
	// administrator's word (the hook's --widen-privileged) that the engine
	// writes that marker for every container itself, over any value a user
	// or an image gave: true of Podman 4.0 to 4.3, which write TRUE or FALSE
	// for each container (pkg/specgen/generate/oci_linux.go). Podman 4.4 and
	// later write it only for --privileged and pass a user's --annotation
	// and a kube YAML's value through, so there it must stay false. Without
	// it no annotation widens anything.
	TrustPrivileged bool
}

// FilterConfig is the whole of the hook's work on one input, with the host
// given by env: it decodes data with [DecodeConfig], rewrites the
// capabilities with [RewriteCapabilities] and returns the new config.json
// and the warnings. On an error it returns no output.
func FilterConfig(data []byte, env Target) ([]byte, []string, error) {
	spec, err := DecodeConfig(data, "config.json")
	if err != nil {
		return nil, nil, err
	}
	return EncodeRewritten(spec, env)
}

// EncodeRewritten rewrites spec's capabilities for env with
// [RewriteCapabilities] and encodes it as a config.json, with the warnings.
// On an error it returns no output.
func EncodeRewritten(spec *specs.Spec, env Target) ([]byte, []string, error) {
	warnings, err := RewriteCapabilities(spec, env)
	if err != nil {
		return nil, nil, err
	}
	out, err := json.Marshal(spec)
	if err != nil {
		return nil, nil, fmt.Errorf("encoding the rewritten config.json: %w", err)
	}
	return append(out, '\n'), warnings, nil
}

// DecodeConfig decodes a config.json into a runtime spec. It accepts one
// JSON object, with nothing but white space after it, whose ociVersion is
// 1.x, and whose fields have the types of the runtime-spec Go types (a
// capabilities list must be a list of strings). Fields unknown to
// runtime-spec v1.3.0 are dropped, as
// go.podman.io/common/pkg/hooks/exec.RuntimeConfigFilter drops them when
// it decodes the hook's output into the same type. Errors wrap
// [ErrInvalidSpec].
//
// what names the input in errors: "config.json on stdin", a path.
func DecodeConfig(data []byte, what string) (*specs.Spec, error) {
	var spec specs.Spec
	if err := decodeSpec(data, what, &spec, &spec.Version); err != nil {
		return nil, err
	}
	return &spec, nil
}

// decodeSpec decodes data, a config.json, into v, which holds *version,
// with the checks of [DecodeConfig].
func decodeSpec(data []byte, what string, v any, version *string) error {
	if !bytes.HasPrefix(bytes.TrimLeft(data, " \t\r\n"), []byte("{")) {
		return fmt.Errorf("%w: %s is not a JSON object", ErrInvalidSpec, what)
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("%w: %s is not a runtime spec: %w", ErrInvalidSpec, what, err)
	}
	if err := checkCapabilityEntries(data, what); err != nil {
		return err
	}
	return checkVersion(*version, what)
}

// DecodeCapabilities decodes the parts of a config.json that
// [RewriteCapabilities] reads — ociVersion, annotations, process.user.uid
// and process.capabilities — into a runtime spec holding only those, with
// the checks of [DecodeConfig] for them: one JSON object with nothing but
// white space after it, ociVersion 1.x, capability entries that are
// strings. The rest of the spec is not decoded, so it may hold what the
// runtime-spec Go types would refuse: it is for a caller that writes the
// rewritten lists back into data's text (the runtime shim), leaving the
// rest to the runtime. It costs a third of DecodeConfig in a new process,
// where encoding/json first learns each type it meets. Errors wrap
// [ErrInvalidSpec].
func DecodeCapabilities(data []byte, what string) (*specs.Spec, error) {
	var view capabilityView
	if err := decodeSpec(data, what, &view, &view.Version); err != nil {
		return nil, err
	}
	spec := &specs.Spec{Version: view.Version, Annotations: view.Annotations}
	if view.Process != nil {
		spec.Process = &specs.Process{User: specs.User{UID: view.Process.User.UID}, Capabilities: view.Process.Capabilities}
	}
	return spec, nil
}

// capabilityView is what [RewriteCapabilities] reads of a spec, under the
// field names of specs.Spec.
type capabilityView struct {
	Version     string            `json:"ociVersion"`
	Annotations map[string]string `json:"annotations,omitempty"`
	Process     *struct {
		User struct {
			UID uint32 `json:"uid"`
		} `json:"user"`
		Capabilities *specs.LinuxCapabilities `json:"capabilities,omitempty"`
	} `json:"process,omitempty"`
}

// checkVersion checks a spec's ociVersion: present, and 1.x.
func checkVersion(version, what string) error {
	if version == "" {
		return fmt.Errorf("%w: %s is not a runtime spec: no ociVersion", ErrInvalidSpec, what)
	}
	if !strings.HasPrefix(version, "1.") {
		return fmt.Errorf("%w: %s: ociVersion %q is not a 1.x runtime spec", ErrInvalidSpec, what, version)
	}
	return nil
}

// rawCapabilities is the part of a spec holding process.capabilities, with
// the entries left undecoded. It is decoded with the same rules, field
// names and case folding as specs.Spec, so it sees the lists the spec got.
type rawCapabilities struct {
	Process *struct {
		Capabilities *struct {
			Bounding    []json.RawMessage `json:"bounding"`
			Effective   []json.RawMessage `json:"effective"`
			Inheritable []json.RawMessage `json:"inheritable"`
			Permitted   []json.RawMessage `json:"permitted"`
			Ambient     []json.RawMessage `json:"ambient"`
		} `json:"capabilities"`
	} `json:"process"`
}

// checkCapabilityEntries fails for a capabilities entry that is JSON null,
// which decoding into a []string would silently turn into "". Entries of
// other types than string already fail to decode.
func checkCapabilityEntries(data []byte, what string) error {
	var raw rawCapabilities
	if err := json.Unmarshal(data, &raw); err != nil {
		return fmt.Errorf("%w: %s is not a runtime spec: %w", ErrInvalidSpec, what, err)
	}
	if raw.Process == nil || raw.Process.Capabilities == nil {
		return nil
	}
	c := raw.Process.Capabilities
	for _, l := range []struct {
		name    string
		entries []json.RawMessage
	}{{"bounding", c.Bounding}, {"effective", c.Effective}, {"inheritable", c.Inheritable}, {"permitted", c.Permitted}, {"ambient", c.Ambient}} {
		for i, e := range l.entries {
			if len(e) == 0 || e[0] != '"' {
				return fmt.Errorf("%w: %s: process.capabilities.%s[%d] is %s, not a string", ErrInvalidSpec, what, l.name, i, e)
			}
		}
	}
	return nil
}

// Widening reports whether the spec's annotations widen its capabilities
// — only Podman's privileged marker, and only when trustPrivileged says the
// engine wrote it ([Target.TrustPrivileged]) — and returns a warning for
// every annotation capgen reads but does not act on: its former
// [CapabilitiesAnnotation], an untrusted marker, a marker with a value
// Podman never writes. No annotation is an error: an image or a user must
// not be able to fail a container through capgen either.
func Widening(annotations map[string]string, trustPrivileged bool) (bool, []string) {
	var warnings []string
	if v, ok := annotations[CapabilitiesAnnotation]; ok {
		warnings = append(warnings, fmt.Sprintf("annotation %s=%s ignored: capgen widens no container for an annotation, which images and users can set",
			CapabilitiesAnnotation, quoteShort(v)))
	}
	v, ok := annotations[PodmanPrivilegedAnnotation]
	switch {
	case !ok || v == PodmanFalse:
		return false, warnings
	case v != PodmanTrue:
		return false, append(warnings, fmt.Sprintf("annotation %s=%s ignored: Podman writes only %q or %q",
			PodmanPrivilegedAnnotation, quoteShort(v), PodmanTrue, PodmanFalse))
	case !trustPrivileged:
		return false, append(warnings, fmt.Sprintf("annotation %s=%q not trusted (only the hook with --widen-privileged trusts it): capabilities kept as the engine wrote them",
			PodmanPrivilegedAnnotation, v))
	}
	return true, warnings
}

// quoteShort quotes an annotation's value for a warning, cut to its first
// 64 bytes: the value is whatever an image or a user chose.
func quoteShort(v string) string {
	const limit = 64
	if len(v) <= limit {
		return strconv.Quote(v)
	}
	return fmt.Sprintf("%q… (%d bytes)", v[:limit], len(v))
}

// RewriteCapabilities rewrites spec.Process.Capabilities in place for the
// host env describes, and returns a warning for every entry, capability or
// annotation it left out.
//
// Every list is materialised: "ALL_CAPS" stands for every capability of the
// kernel, numerals for the capabilities they number, and entries that name
// no capability of the kernel are dropped with a warning, never turned into
// a capability. Only when [Widening] says so (Podman's privileged marker,
// trusted by env.TrustPrivileged) is bounding — and, for a process whose
// uid is 0, effective and permitted — widened to every capability of the
// kernel; otherwise no list grants more than the engine wrote. Inheritable
// and ambient are never widened: for a non-root user they stay what the
// engine chose from explicit adds, as in Podman. Each list is then written
// by [Emit]: limited to the kernel and the bounding set, in the form the
// runtime accepts (env.Policy, env.Features); what it leaves out is a
// warning.
//
// A spec without a process is left unchanged, and so is one without
// process.capabilities unless it is widened. The error is for an invalid
// env or an invalid policy, never for anything in the spec.
func RewriteCapabilities(spec *specs.Spec, env Target) ([]string, error) {
	widen, warnings := Widening(spec.Annotations, env.TrustPrivileged)
	p := spec.Process
	if p == nil {
		if widen {
			warnings = append(warnings, "the spec has no process: no capabilities to widen")
		}
		return warnings, nil
	}
	if p.Capabilities == nil {
		if !widen {
			return warnings, nil
		}
		p.Capabilities = &specs.LinuxCapabilities{}
	}
	root := p.User.UID == 0
	for _, l := range capLists(p.Capabilities) {
		req, all, w, err := materializeList(l.name, *l.entries, env.Env.KernelLast)
		if err != nil {
			return nil, fmt.Errorf("precreate hook: %w", err)
		}
		warnings = append(warnings, w...)
		if widen && l.widen(root) {
			req, all = req.Union(capnames.UpTo(env.Env.KernelLast)), true
		}
		entries, report, err := Emit(req, all, env.Env, env.Features, env.Policy)
		if err != nil {
			return nil, fmt.Errorf("precreate hook: %w", err)
		}
		for _, o := range report.Omitted {
			warnings = append(warnings, fmt.Sprintf("process.capabilities.%s: left out %s: %s", l.name, o.Name, o.Text))
		}
		for _, w := range report.Warnings {
			warnings = append(warnings, fmt.Sprintf("process.capabilities.%s: %s", l.name, w))
		}
		*l.entries = entries
	}
	return warnings, nil
}

// capList is one of the five lists of process.capabilities.
type capList struct {
	name    string
	entries *[]string
	// widen reports whether the list is widened for a process that is
	// root or not.
	widen func(root bool) bool
}

func capLists(c *specs.LinuxCapabilities) []capList {
	always := func(bool) bool { return true }
	rootOnly := func(root bool) bool { return root }
	never := func(bool) bool { return false }
	return []capList{
		{"bounding", &c.Bounding, always},
		{"effective", &c.Effective, rootOnly},
		{"inheritable", &c.Inheritable, never},
		{"permitted", &c.Permitted, rootOnly},
		{"ambient", &c.Ambient, never},
	}
}

// materializeList is [capnames.Materialize] with a warning for every entry
// it could not map, saying why; all reports an "ALL_CAPS" entry.
func materializeList(list string, entries []string, last capnames.Cap) (set capnames.Set, all bool, warnings []string, err error) {
	set, unmapped, err := capnames.Materialize(entries, last)
	if err != nil {
		return 0, false, nil, err
	}
	for _, e := range unmapped {
		var reason string
		if c, err := capnames.Parse(e); err != nil {
			reason = err.Error()
		} else {
			reason = kernelLacks(capnames.Default(), c, last)
		}
		warnings = append(warnings, fmt.Sprintf("process.capabilities.%s: dropped entry %q: %s", list, e, reason))
	}
	return set, slices.Contains(entries, capnames.AllCaps), warnings, nil
}
