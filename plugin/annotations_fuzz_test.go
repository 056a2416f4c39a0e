package plugin

import (
	"bytes"
	"math/rand/v2"
	"testing"

	"github.com/capgen-dev/capgen/capnames"
)

// Whatever an image, a user or a pod spec sets as annotations, a rewrite
// grants no more than for the same spec without them: the hook's and the
// shim's (internal/shim tests the shim itself). The one exception is the hook
// told by its administrator to trust Podman's privileged marker
// (Target.TrustPrivileged), for that marker's "TRUE".

// annotationKeys and annotationValues are what the generators below draw
// from: every annotation capgen reads, near misses of them, and values
// that once meant something to capgen or Podman.
var (
	annotationKeys = []string{
		CapabilitiesAnnotation, PodmanPrivilegedAnnotation, "io.github.capgen-dev.shim", ImageLabel,
		"IO.PODMAN.ANNOTATIONS.PRIVILEGED", CapabilitiesAnnotation + " ", "io.podman.annotations.privileged/ctr",
		"org.opencontainers.image.title", "io.kubernetes.cri.container-type",
	}
	annotationValues = []string{"all", "ALL", "TRUE", "true", "FALSE", "", "garbage", "ALL_CAPS", "39", "CAP_SYS_ADMIN", "TRUE\n"}
	entryPool        = []string{
		"CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_SYS_ADMIN", "CAP_BPF", "CAP_SYS_RESOURCE",
		"ALL_CAPS", "39", "24", "all", "CAP_FOO", "ſys_admin",
	}
)

// annotationsFrom decodes data as key NUL value NUL pairs; a byte below
// len(pool) alone picks from the pools instead.
func annotationsFrom(data []byte) map[string]string {
	m := map[string]string{}
	parts := bytes.Split(data, []byte{0})
	for i := 0; i+1 < len(parts); i += 2 {
		m[pick(parts[i], annotationKeys)] = pick(parts[i+1], annotationValues)
	}
	return m
}

func pick(b []byte, pool []string) string {
	if len(b) == 1 && int(b[0]) < len(pool) {
		return pool[b[0]]
	}
	return string(b)
}

// listsFrom makes five capability lists from a seed.
func listsFrom(seed uint64) [5][]string {
	r := rand.New(rand.NewPCG(seed, seed>>7))
	var lists [5][]string
	for i := range lists {
		for range r.IntN(5) {
			lists[i] = append(lists[i], entryPool[r.IntN(len(entryPool))])
		}
	}
	return lists
}

// grantedSets is what the five lists of out grant to the runtime f on a
// env's kernel and bounding set (asRuntimeReads).
func grantedSets(t *testing.T, out []byte, f *Features, env Env) [5]capnames.Set {
	t.Helper()
	var sets [5]capnames.Set
	for i, l := range outputLists(t, out) {
		sets[i], _ = asRuntimeReads(f, l, env)
	}
	return sets
}

// FuzzAnnotationsNeverWiden runs the hook's filter on one spec with the
// fuzzed annotations and without any, and checks that no list grants more
// with them, unless the trusted privileged marker is "TRUE"; with
// TrustPrivileged off (the shim, and the hook by default) the grants are
// the same. Annotations never make the filter fail.
func FuzzAnnotationsNeverWiden(f *testing.F) {
	f.Add([]byte("\x00\x00\x01\x00\x02"), uint64(7), uint32(0), false, uint8(10), uint64(1<<63-1), uint8(3), uint8(0))
	f.Add([]byte("\x01\x00\x02"), uint64(9), uint32(1000), true, uint8(10), uint64(1<<24-1), uint8(4), uint8(1))
	f.Add([]byte("\x00\x00\x00\x01\x00\x00"), uint64(3), uint32(0), true, uint8(10), uint64(1<<63-1), uint8(7), uint8(3))
	f.Fuzz(func(t *testing.T, annData []byte, listSeed uint64, uid uint32, trust bool, lastSeed uint8, boundingSeed uint64, rtSeed, policySeed uint8) {
		last := capnames.Cap(30 + int(lastSeed)%34)
		env := Target{
			Env:             Env{KernelLast: last, Bounding: capnames.UpTo(last) & capnames.Set(boundingSeed)},
			Features:        fuzzRuntimes[int(rtSeed)%len(fuzzRuntimes)],
			Policy:          Policy(policySeed % 4),
			TrustPrivileged: trust,
		}
		annotations := annotationsFrom(annData)
		lists := listsFrom(listSeed)
		plain, _, errPlain := FilterConfig(hookSpec(t, uid, nil, lists), env)
		out, _, err := FilterConfig(hookSpec(t, uid, annotations, lists), env)
		if (err != nil) != (errPlain != nil) {
			t.Fatalf("annotations %q: error %v; without them: %v", annotations, err, errPlain)
		}
		if err != nil {
			return
		}
		with, without := grantedSets(t, out, env.Features, env.Env), grantedSets(t, plain, env.Features, env.Env)
		marked := trust && annotations[PodmanPrivilegedAnnotation] == PodmanTrue
		for i := range with {
			switch {
			case marked:
				continue // the administrator's trusted marker: widening is the point
			case !trust && with[i] != without[i]:
				t.Fatalf("%s: annotations %q, untrusted: grants %v; without them %v", capListNames[i], annotations, with[i].Strings(), without[i].Strings())
			case with[i].Minus(without[i]) != 0:
				t.Fatalf("%s: annotations %q grant %v beyond %v", capListNames[i], annotations, with[i].Minus(without[i]).Strings(), without[i].Strings())
			}
		}
	})
}
