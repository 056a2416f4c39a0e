package engine

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/capgen-dev/capgen/capnames"
	"github.com/capgen-dev/capgen/plugin"
	"github.com/capgen-dev/capgen/plugin/ociruntime"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/opencontainers/runtime-tools/generate"
	"go.podman.io/common/pkg/capabilities"
	"go.podman.io/common/pkg/config"
)

// fakeRunc writes a runtime whose features list every name of the table,
// as runc 1.1.5's do; plugin/e2e runs the real runtimes.
func fakeRunc(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	doc := `{"linux":{"capabilities":["` + strings.Join(capnames.UpTo(capnames.Default().Last()).Strings(), `","`) +
		`"]},"annotations":{"org.opencontainers.runc.version":"1.1.5"}}`
	writeTestFile(t, filepath.Join(dir, "features.json"), doc, 0o644)
	path := filepath.Join(dir, "runc")
	writeTestFile(t, path, fmt.Sprintf("#!/bin/sh\n# runc 1.1.5's features, for the engine recipes.\n[ \"$1\" = features ] && exec cat %q\nexit 1\n",
		filepath.Join(dir, "features.json")), 0o755)
	return path
}

func writeTestFile(t testing.TB, path, text string, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), mode); err != nil {
		t.Fatal(err)
	}
}

// loadConfig loads containers.conf as Podman does, from a file of the
// test's own holding the given [containers] lines.
func loadConfig(t testing.TB, containers string) *config.Config {
	t.Helper()
	conf := filepath.Join(t.TempDir(), "containers.conf")
	writeTestFile(t, conf, "[containers]\n"+containers+"\n", 0o644)
	t.Setenv("CONTAINERS_CONF", conf)
	t.Setenv("CONTAINERS_CONF_OVERRIDE", "")
	rtc, err := config.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return rtc
}

// newGenerator returns the generator Podman and Buildah start from, with
// confinement set so that --privileged can be seen to clear it.
func newGenerator(t testing.TB) *generate.Generator {
	t.Helper()
	g, err := generate.New("linux")
	if err != nil {
		t.Fatal(err)
	}
	g.Config.Process.SelinuxLabel = "system_u:system_r:container_t:s0"
	g.Config.Process.ApparmorProfile = "containers-default"
	g.Config.Linux.Seccomp = &specs.LinuxSeccomp{DefaultAction: specs.ActErrno}
	return &g
}

// listSets parses the five lists into sets, failing t on an entry that is
// not a capability.
func listSets(t *testing.T, c *specs.LinuxCapabilities) plugin.Sets {
	t.Helper()
	parse := func(entries []string) capnames.Set {
		var s capnames.Set
		for _, e := range entries {
			cp, err := capnames.Parse(e)
			if err != nil {
				t.Fatalf("entry %q: %v", e, err)
			}
			s.Add(cp)
		}
		return s
	}
	return plugin.Sets{Bounding: parse(c.Bounding), Effective: parse(c.Effective), Inheritable: parse(c.Inheritable),
		Permitted: parse(c.Permitted), Ambient: parse(c.Ambient)}
}

func diff(got, want plugin.Sets) string {
	var b strings.Builder
	for _, l := range []struct {
		name      string
		got, want capnames.Set
	}{
		{"bounding", got.Bounding, want.Bounding}, {"effective", got.Effective, want.Effective},
		{"inheritable", got.Inheritable, want.Inheritable}, {"permitted", got.Permitted, want.Permitted},
		{"ambient", got.Ambient, want.Ambient},
	} {
		if l.got != l.want {
			fmt.Fprintf(&b, "\n\t%s: got %v, want %v", l.name, l.got.Strings(), l.want.Strings())
		}
	}
	return b.String()
}

// hostBounding is go.podman.io/common's BoundingSet as a set.
func hostBounding(t *testing.T) capnames.Set {
	t.Helper()
	names, err := capabilities.BoundingSet()
	if err != nil {
		t.Fatal(err)
	}
	var s capnames.Set
	for _, n := range names {
		c, err := capnames.Parse(n)
		if err != nil {
			t.Fatal(err)
		}
		s.Add(c)
	}
	return s
}

// podmanBlock is the oracle: the capability block of Podman v5.8.2's
// securityConfigureGenerator, stated with go.podman.io/common's functions.
func podmanBlock(g *generate.Generator, defaults []string, c PodmanContainer) error {
	var caplist []string
	bounding, err := capabilities.BoundingSet()
	if err != nil {
		return err
	}
	if c.Privileged {
		g.SetupPrivileged(true)
		caplist = bounding
	} else {
		merged, err := capabilities.MergeCapabilities(defaults, c.CapAdd, c.CapDrop)
		if err != nil {
			return err
		}
		caplist = intersect(merged, bounding)
		if label, ok := podmanImageLabel(c.Labels); ok {
			asked := strings.Split(label, ",")
			if len(asked) == 1 && asked[0] == "" {
				caplist = []string{}
			} else if required, err := capabilities.MergeCapabilities(nil, asked, nil); err != nil {
				return err
			} else if len(intersect(required, caplist)) == len(required) {
				caplist = required
			}
		}
	}
	caps := g.Config.Process.Capabilities
	caps.Ambient, caps.Inheritable, caps.Bounding = []string{}, []string{}, caplist
	user, _, _ := strings.Cut(c.User, ":")
	if user == "" && !c.KeepID || user == "root" || user == "0" {
		caps.Effective, caps.Permitted = caplist, caplist
		return nil
	}
	added, err := capabilities.MergeCapabilities(nil, c.CapAdd, nil)
	if err != nil {
		return err
	}
	userCaps := intersect(added, bounding)
	caps.Effective, caps.Permitted, caps.Ambient, caps.Inheritable = userCaps, userCaps, userCaps, userCaps
	return nil
}

// podmanImageLabel finds the image's capabilities label among a
// container's labels as Podman does: the first of common's
// ContainerImageLabels.
func podmanImageLabel(labels map[string]string) (string, bool) {
	for _, key := range capabilities.ContainerImageLabels {
		if value, ok := labels[key]; ok {
			return value, true
		}
	}
	return "", false
}

// intersect returns the entries of a that b holds.
func intersect(a, b []string) []string {
	return slices.DeleteFunc(slices.Clone(a), func(s string) bool { return !slices.Contains(b, s) })
}

func TestPodmanAsPodman(t *testing.T) {
	runc := fakeRunc(t)
	for _, tc := range []struct {
		name string
		c    PodmanContainer
	}{
		{"defaults", PodmanContainer{}},
		{"adds and drops", PodmanContainer{CapAdd: []string{"net_admin", "CAP_SYS_PTRACE"}, CapDrop: []string{"chown"}}},
		{"drop all, add one", PodmanContainer{CapAdd: []string{"net_bind_service"}, CapDrop: []string{"all"}}},
		{"cap-add all", PodmanContainer{CapAdd: []string{"all"}}},
		{"cap-add all, drop two", PodmanContainer{CapAdd: []string{"ALL"}, CapDrop: []string{"CAP_SYS_ADMIN", "mknod"}}},
		{"privileged", PodmanContainer{Privileged: true}},
		{"privileged, user 1000", PodmanContainer{Privileged: true, User: "1000", CapAdd: []string{"net_bind_service"}}},
		{"user 1000 with an add", PodmanContainer{User: "1000:1000", CapAdd: []string{"net_bind_service"}}},
		{"user root by name", PodmanContainer{User: "root", CapAdd: []string{"net_admin"}}},
		{"keep-id without a user", PodmanContainer{KeepID: true, CapAdd: []string{"net_bind_service"}}},
		{"image label narrows", PodmanContainer{Labels: map[string]string{"io.containers.capabilities": "CAP_CHOWN,setuid"}}},
		{"empty image label", PodmanContainer{Labels: map[string]string{"io.containers.capabilities": ""}}},
		{"image label asking for more is ignored", PodmanContainer{Labels: map[string]string{"io.containers.capabilities": "CAP_SYS_ADMIN"}}},
		{"other labels", PodmanContainer{Labels: map[string]string{"maintainer": "x"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rtc := loadConfig(t, "")
			tc.c.OCIRuntime = runc
			got := newGenerator(t)
			rep, err := Recipe{Prober: &ociruntime.Prober{CacheDir: t.TempDir()}}.Podman(got, rtc, tc.c)
			if err != nil {
				t.Fatalf("Podman: %v", err)
			}
			want := newGenerator(t)
			if err := podmanBlock(want, rtc.Containers.DefaultCapabilities.Get(), tc.c); err != nil {
				t.Fatalf("Podman's block: %v", err)
			}
			if d := diff(listSets(t, got.Config.Process.Capabilities), listSets(t, want.Config.Process.Capabilities)); d != "" {
				t.Errorf("capabilities differ from Podman's:%s", d)
			}
			if rep.Sets != listSets(t, got.Config.Process.Capabilities) {
				t.Errorf("report sets %+v are not what the lists grant", rep.Sets)
			}
			gp, wp := got.Config.Process, want.Config.Process
			if gp.SelinuxLabel != wp.SelinuxLabel || gp.ApparmorProfile != wp.ApparmorProfile ||
				(got.Config.Linux.Seccomp == nil) != (want.Config.Linux.Seccomp == nil) {
				t.Errorf("confinement differs from Podman's: SELinux %q, AppArmor %q, seccomp %t; want %q, %q, %t",
					gp.SelinuxLabel, gp.ApparmorProfile, got.Config.Linux.Seccomp != nil,
					wp.SelinuxLabel, wp.ApparmorProfile, want.Config.Linux.Seccomp != nil)
			}
		})
	}
}

// The deliberate differences from Podman, each against common's answer.
func TestPodmanDiffers(t *testing.T) {
	runc := fakeRunc(t)
	recipe := Recipe{Prober: &ociruntime.Prober{CacheDir: t.TempDir()}}
	bounding := hostBounding(t)

	t.Run("numeral accepted", func(t *testing.T) {
		rtc := loadConfig(t, "")
		c := PodmanContainer{CapAdd: []string{"39"}, OCIRuntime: runc}
		if err := podmanBlock(newGenerator(t), rtc.Containers.DefaultCapabilities.Get(), c); err == nil {
			t.Error("common accepted the numeral 39; the difference is gone")
		}
		g := newGenerator(t)
		if _, err := recipe.Podman(g, rtc, c); err != nil {
			t.Fatal(err)
		}
		if !slices.Contains(g.Config.Process.Capabilities.Bounding, "CAP_BPF") {
			t.Errorf("bounding %q lacks CAP_BPF for --cap-add 39", g.Config.Process.Capabilities.Bounding)
		}
	})
	t.Run("confusable in containers.conf refused", func(t *testing.T) {
		rtc := loadConfig(t, `default_capabilities = ["chown", "ſys_admin"]`)
		c := PodmanContainer{OCIRuntime: runc}
		want := newGenerator(t)
		if err := podmanBlock(want, rtc.Containers.DefaultCapabilities.Get(), c); err != nil ||
			!slices.Contains(want.Config.Process.Capabilities.Bounding, "CAP_SYS_ADMIN") {
			t.Errorf("common no longer turns ſys_admin into CAP_SYS_ADMIN (%v); the difference is gone", err)
		}
		_, err := recipe.Podman(newGenerator(t), rtc, c)
		if !errors.Is(err, capabilities.ErrUnknownCapability) || !strings.Contains(err.Error(), "ſys_admin") {
			t.Errorf("Podman error = %v, want one naming ſys_admin and wrapping ErrUnknownCapability", err)
		}
	})
	t.Run("module", func(t *testing.T) {
		loadConfig(t, `default_capabilities = ["KILL"]`)
		module := filepath.Join(t.TempDir(), "caps.conf")
		writeTestFile(t, module, "[containers]\ndefault_capabilities = [\"CHOWN\", \"NET_RAW\"]\n", 0o644)
		rtc, err := config.New(&config.Options{Modules: []string{module}})
		if err != nil {
			t.Fatal(err)
		}
		g := newGenerator(t)
		if _, err := recipe.Podman(g, rtc, PodmanContainer{OCIRuntime: runc}); err != nil {
			t.Fatal(err)
		}
		want := capnames.SetOf(capnames.CAP_CHOWN, capnames.CAP_NET_RAW).Intersect(bounding)
		if got := listSets(t, g.Config.Process.Capabilities).Bounding; got != want {
			t.Errorf("bounding %v with a module setting CHOWN and NET_RAW, want %v", got.Strings(), want.Strings())
		}
	})
	t.Run("user's adds limited to the bounding list", func(t *testing.T) {
		rtc := loadConfig(t, "")
		c := PodmanContainer{User: "1000", CapAdd: []string{"net_admin"}, OCIRuntime: runc,
			Labels: map[string]string{"io.containers.capabilities": "CAP_CHOWN"}}
		want := newGenerator(t)
		if err := podmanBlock(want, rtc.Containers.DefaultCapabilities.Get(), c); err != nil {
			t.Fatal(err)
		}
		if !slices.Contains(want.Config.Process.Capabilities.Effective, "CAP_NET_ADMIN") {
			t.Error("Podman no longer gives the user CAP_NET_ADMIN outside the bounding list; the difference is gone")
		}
		g := newGenerator(t)
		rep, err := recipe.Podman(g, rtc, c)
		if err != nil {
			t.Fatal(err)
		}
		if s := listSets(t, g.Config.Process.Capabilities); s.Effective != 0 || s.Bounding != capnames.SetOf(capnames.CAP_CHOWN) {
			t.Errorf("bounding %v effective %v; want CAP_CHOWN and nothing", s.Bounding.Strings(), s.Effective.Strings())
		}
		if len(rep.Warnings) == 0 {
			t.Error("no warning for the add left out")
		}
	})
	t.Run("runtime not found", func(t *testing.T) {
		rtc := loadConfig(t, "")
		_, err := recipe.Podman(newGenerator(t), rtc, PodmanContainer{OCIRuntime: "no-such-runtime-capgen"})
		if !errors.Is(err, ociruntime.ErrRuntimeNotFound) {
			t.Errorf("error = %v, want ErrRuntimeNotFound", err)
		}
	})
}

// buildahSetup is the oracle: Buildah v1.44.0's setupCapabilities, stated
// with runtime-tools' generator and go.podman.io/common.
func buildahSetup(g *generate.Generator, defaults, adds, drops []string) error {
	g.ClearProcessCapabilities()
	add := func(caps []string) error {
		for _, c := range caps {
			for _, f := range []func(string) error{g.AddProcessCapabilityBounding, g.AddProcessCapabilityEffective, g.AddProcessCapabilityPermitted} {
				if err := f(c); err != nil {
					return err
				}
			}
		}
		return nil
	}
	if err := add(defaults); err != nil {
		return err
	}
	if slices.ContainsFunc(adds, plugin.IsAll) {
		adds = capabilities.AllCapabilities()
	}
	if slices.ContainsFunc(drops, plugin.IsAll) {
		g.ClearProcessCapabilities()
		return nil
	}
	if err := add(adds); err != nil {
		return err
	}
	for _, c := range drops {
		for _, f := range []func(string) error{g.DropProcessCapabilityBounding, g.DropProcessCapabilityEffective, g.DropProcessCapabilityPermitted} {
			if err := f(c); err != nil {
				return err
			}
		}
	}
	return nil
}

func TestBuildahAsBuildah(t *testing.T) {
	runc := fakeRunc(t)
	recipe := Recipe{Prober: &ociruntime.Prober{CacheDir: t.TempDir()}}
	defaults := config.DefaultCapabilities
	bounding := hostBounding(t)
	for _, tc := range []struct {
		name        string
		adds, drops []string
		// withinBounding: Buildah asks for every name, capgen for the
		// bounding set's (the deliberate difference).
		withinBounding bool
	}{
		{name: "defaults"},
		{name: "adds and drops", adds: []string{"CAP_NET_ADMIN", "CAP_SYS_PTRACE"}, drops: []string{"CAP_CHOWN"}},
		{name: "added and dropped: dropped", adds: []string{"CAP_NET_ADMIN"}, drops: []string{"CAP_NET_ADMIN"}},
		{name: "drop all clears adds too", adds: []string{"CAP_NET_BIND_SERVICE"}, drops: []string{"all"}},
		{name: "cap-add all", adds: []string{"all"}, withinBounding: true},
		{name: "cap-add all, drop one", adds: []string{"ALL"}, drops: []string{"CAP_SYS_ADMIN"}, withinBounding: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := newGenerator(t)
			if _, err := recipe.Buildah(got, defaults, tc.adds, tc.drops, runc); err != nil {
				t.Fatalf("Buildah: %v", err)
			}
			want := newGenerator(t)
			if err := buildahSetup(want, defaults, tc.adds, tc.drops); err != nil {
				t.Fatalf("Buildah's setupCapabilities: %v", err)
			}
			w := listSets(t, want.Config.Process.Capabilities)
			if tc.withinBounding {
				if w.Bounding.Minus(bounding) == 0 && bounding != capnames.UpTo(capnames.Default().Last()) {
					t.Fatal("Buildah's list fits the bounding set; the case tests nothing")
				}
				w = plugin.Sets{Bounding: w.Bounding.Intersect(bounding), Effective: w.Effective.Intersect(bounding),
					Permitted: w.Permitted.Intersect(bounding)}
			}
			if d := diff(listSets(t, got.Config.Process.Capabilities), w); d != "" {
				t.Errorf("capabilities differ from Buildah's:%s", d)
			}
		})
	}
	t.Run("bad add named", func(t *testing.T) {
		_, err := recipe.Buildah(newGenerator(t), defaults, []string{"CAP_NOPE"}, nil, runc)
		if !errors.Is(err, capnames.ErrUnknown) || !strings.Contains(err.Error(), "cap-add") {
			t.Errorf("error = %v, want one naming cap-add and wrapping capnames.ErrUnknown", err)
		}
	})
}
