package plugin

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/capgen-dev/capgen/capnames"
	"github.com/opencontainers/runtime-spec/specs-go"
)

// ImageLabel is the image label that lists the only capabilities an image
// needs, as go.podman.io/common/pkg/capabilities.ContainerImageLabels names
// it.
const ImageLabel = "io.containers.capabilities"

// Request is a container's capability request as an engine receives it.
type Request struct {
	// Privileged is --privileged: every capability of the bounding set.
	Privileged bool
	// Defaults is containers.conf's default_capabilities.
	Defaults []string
	// Adds and Drops are --cap-add and --cap-drop; "all" in any ASCII
	// letter case stands for every capability.
	Adds, Drops []string
	// User is --user, "name", "uid" or "user:group"; "", "root" and "0"
	// are root, except that "" is not with KeepID.
	User string
	// KeepID is --userns=keep-id: with no User the container runs as the
	// invoking user, so Podman gives it a non-root user's capabilities.
	KeepID bool
	// ImageLabel is the value of the image's io.containers.capabilities
	// label, comma-separated capabilities, or nil when the image has no
	// such label. An empty label means the image needs no capabilities.
	ImageLabel *string
	// Policy chooses the form of the entries.
	Policy Policy
	// Runtime is what the OCI runtime accepts; nil when unknown.
	Runtime *Features
	// Env is the machine the container runs on; the zero Env stands for
	// this one ([HostEnv]).
	Env Env
}

// ErrInvalidRequest is wrapped by the errors of [Apply] about its request.
// Errors about capability entries also wrap capnames.ErrUnknown or
// [ErrMergeConflict].
var ErrInvalidRequest = errors.New("invalid capability request")

// Apply fills spec.Process.Capabilities for req as Podman does in
// pkg/specgen/generate/security_linux.go, then writes the entries in the
// form req.Policy picks for req.Runtime (see [Emit]). It creates
// spec.Process and its Capabilities when they are nil and replaces the five
// lists.
//
// The bounding list is what Podman would grant: with Privileged, every
// capability of the kernel; otherwise MergeCapabilities(Defaults, Adds,
// Drops), where "all" in Adds stands for every capability of the kernel,
// narrowed to the image label's capabilities when all of them are in the
// merged list and in the bounding set (otherwise the label is ignored with
// a warning). The report accounts for each of its capabilities once: granted
// or left out (not in the kernel, not in the bounding set, not expressible
// to the runtime).
//
// For root, effective and permitted equal bounding, inheritable and ambient
// are empty. For another user, effective, permitted, inheritable and ambient
// hold the capabilities of Adds alone, as Podman does (the kernel raises an
// ambient capability only when it is inheritable too), limited to what the
// bounding list grants: they never hold a capability bounding does not.
//
// On error spec is left as it was and the report is nil.
func Apply(spec *specs.Spec, req Request) (*Report, error) {
	if spec == nil {
		return nil, fmt.Errorf("%w: nil spec", ErrInvalidRequest)
	}
	p, err := plan(req)
	if err != nil {
		return nil, err
	}
	if spec.Process == nil {
		spec.Process = &specs.Process{}
	}
	spec.Process.Capabilities = p.capabilities()
	r := p.emission.report()
	r.Sets = p.sets()
	return r, nil
}

// application is the outcome of a request before it is written to a spec.
type application struct {
	emission *emission
	root     bool
	user     capnames.Set // a non-root user's capabilities, before emission
}

// plan computes what Apply writes.
func plan(req Request) (*application, error) {
	env := req.Env
	if env == (Env{}) {
		host, err := HostEnv()
		if err != nil {
			return nil, fmt.Errorf("reading the capabilities of this machine: %w", err)
		}
		env = host
	}
	if err := env.check(); err != nil {
		return nil, err
	}
	requested, all, warning, err := boundingRequest(req, env)
	if err != nil {
		return nil, err
	}
	e, err := newEmission(requested, all, env, req.Runtime, req.Policy)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidRequest, err)
	}
	if warning != "" {
		e.warn("%s", warning)
	}
	a := &application{emission: e, root: isRoot(req.User, req.KeepID)}
	if !a.root {
		// Podman: MergeCapabilities(nil, CapAdd, nil) ∩ bounding set.
		a.user, _, err = mergeSet("", nil, req.Adds, nil, env, env.kernel())
		if err != nil {
			return nil, err
		}
		if outside := a.user.Minus(requested); outside != 0 {
			e.warn("user %q: %s, added by cap-add, not in the bounding list: left out of effective, permitted, inheritable and ambient",
				req.User, e.nameList(outside))
		}
	}
	shared := a.user.Intersect(e.allowed)
	e.resolve(a.root || shared == 0 || shared == e.allowed)
	return a, nil
}

// boundingRequest returns the capabilities of the bounding list Podman
// would compute, before the bounding set is applied, whether they are an
// "all" request, and a warning when the image label was ignored.
func boundingRequest(req Request, env Env) (caps capnames.Set, all bool, warning string, err error) {
	kernel := env.kernel()
	merged, all, err := mergeSet("", req.Defaults, req.Adds, req.Drops, env, kernel)
	switch {
	case err != nil:
		return 0, false, "", err
	case req.Privileged:
		return kernel, true, "", nil
	case req.ImageLabel == nil:
		return merged, all, "", nil
	}
	return labelRequest(*req.ImageLabel, merged, all, env)
}

// labelRequest applies the image label to the merged request: Podman
// replaces the request with the label's capabilities when every one of them
// is in the request and the bounding set, and ignores the label otherwise.
func labelRequest(label string, merged capnames.Set, all bool, env Env) (capnames.Set, bool, string, error) {
	if label == "" {
		return 0, false, "", nil
	}
	what := fmt.Sprintf("image label %s=%q", ImageLabel, label)
	// Podman merges the label as the adds of an empty request, so "all"
	// stands for the bounding set.
	caps, labelAll, err := parseCapList(what, strings.Split(label, ","), env.KernelLast, true)
	if err != nil {
		return 0, false, "", fmt.Errorf("%w: %w", ErrInvalidRequest, err)
	}
	if labelAll {
		caps = env.kernel().Intersect(env.Bounding)
	}
	if missing := caps.Minus(merged.Intersect(env.Bounding)); missing != 0 {
		return merged, all, fmt.Sprintf("%s asks for %s, which the request does not allow: label ignored",
			what, namesIn(env.table(), missing)), nil
	}
	return caps, labelAll, "", nil
}

// namesIn returns the names of s in t, comma-separated.
func namesIn(t *capnames.Table, s capnames.Set) string {
	names := make([]string, 0, s.Len())
	for _, c := range s.Caps() {
		names = append(names, t.Name(c))
	}
	return strings.Join(names, ", ")
}

// mergeSet runs MergeCapabilities on one part of the request against env,
// with "all" in adds standing for allSet, and returns the result as a set
// and whether adds held "all". base is always containers.conf's
// default_capabilities, and errors name it so. what names the input in
// errors, when the list names (cap-add, cap-drop) do not say it.
func mergeSet(what string, base, adds, drops []string, env Env, allSet capnames.Set) (capnames.Set, bool, error) {
	menv := mergeEnv{
		last:     env.KernelLast,
		bounding: func() (capnames.Set, error) { return allSet, nil },
		base:     "containers.conf default_capabilities",
	}
	set, err := mergeCapSet(base, adds, drops, menv)
	if err != nil {
		if what == "" {
			return 0, false, fmt.Errorf("%w: %w", ErrInvalidRequest, err)
		}
		return 0, false, fmt.Errorf("%w: %s: %w", ErrInvalidRequest, what, err)
	}
	all := slices.ContainsFunc(adds, IsAll) && !slices.ContainsFunc(drops, IsAll)
	return set, all, nil
}

// isRoot reports whether Podman treats user as root: the user part of
// "user:group" is "root", "0", or "" outside a keep-id user namespace.
func isRoot(user string, keepID bool) bool {
	name, _, _ := strings.Cut(user, ":")
	return name == "" && !keepID || name == "root" || name == "0"
}

func (a *application) capabilities() *specs.LinuxCapabilities {
	e := a.emission
	bounding := e.entries(e.granted)
	if a.root {
		return &specs.LinuxCapabilities{
			Bounding:    bounding,
			Effective:   slices.Clone(bounding),
			Permitted:   slices.Clone(bounding),
			Inheritable: []string{},
			Ambient:     []string{},
		}
	}
	user := e.entries(a.user)
	return &specs.LinuxCapabilities{
		Bounding:    bounding,
		Effective:   user,
		Permitted:   slices.Clone(user),
		Inheritable: slices.Clone(user),
		Ambient:     slices.Clone(user),
	}
}

func (a *application) sets() Sets {
	g := a.emission.granted
	if a.root {
		return Sets{Bounding: g, Effective: g, Permitted: g}
	}
	u := a.user.Intersect(g)
	return Sets{Bounding: g, Effective: u, Inheritable: u, Permitted: u, Ambient: u}
}
