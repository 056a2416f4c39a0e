package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/capgen-dev/capgen/capnames"
)

// A result is what one container got: its CapBnd and CapEff, or the
// engine's error.
type result struct {
	bounding, effective capnames.Set
	err                 string
}

func (r result) String() string {
	switch {
	case r.err != "":
		return "fails: `" + r.err + "`"
	case r.effective != r.bounding:
		return fmt.Sprintf("`%s` (CapEff `%s`)", r.bounding.Bitmap(), r.effective.Bitmap())
	}
	return "`" + r.bounding.Bitmap() + "`"
}

// runTimeout bounds one engine command.
const runTimeout = 2 * time.Minute

// host is what every engine command shares: the storage, the
// containers.conf that isolates the runs from the host's, and the image.
type host struct {
	work, image, labelled string
	storage               []string
	env                   []string
	nofile                string
}

func newHost(work string) (*host, error) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return nil, err
	}
	h := &host{
		work:     work,
		image:    "localhost/capgen-sidebyside",
		labelled: "localhost/capgen-sidebyside-labelled",
		storage: []string{"--root", filepath.Join(work, "root"), "--runroot", filepath.Join(work, "runroot"),
			"--storage-driver", "vfs"},
		nofile: fmt.Sprintf("%d:%d", lim.Cur, lim.Max),
	}
	conf := filepath.Join(work, "containers.conf")
	hooks := filepath.Join(work, "hooks.d")
	if err := os.MkdirAll(hooks, 0o755); err != nil {
		return nil, err
	}
	// The host's hooks directories and drop-ins are not read: CONTAINERS_CONF
	// replaces every containers.conf file.
	if err := os.WriteFile(conf, fmt.Appendf(nil, "[engine]\nhooks_dir = [%q]\n", hooks), 0o644); err != nil {
		return nil, err
	}
	h.env = append(os.Environ(), "CONTAINERS_CONF="+conf, "PODMAN_IGNORE_CGROUPSV1_WARNING=1",
		"CAPGEN_CACHE_DIR="+filepath.Join(work, "cache"))
	return h, nil
}

// importImages imports a busybox root file system with podman as the
// image, and again labelled io.containers.capabilities=CHOWN,NET_BIND_SERVICE.
func (h *host) importImages(podman, busybox string) error {
	root := filepath.Join(h.work, "image")
	if err := os.MkdirAll(filepath.Join(root, "bin"), 0o755); err != nil {
		return err
	}
	b, err := os.ReadFile(busybox)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(root, "bin", "busybox"), b, 0o755); err != nil {
		return err
	}
	for _, applet := range []string{"sh", "grep", "cat", "sleep"} {
		if err := os.Symlink("busybox", filepath.Join(root, "bin", applet)); err != nil {
			return err
		}
	}
	tarball := filepath.Join(h.work, "image.tar")
	if out, err := exec.Command("tar", "-C", root, "-cf", tarball, ".").CombinedOutput(); err != nil {
		return fmt.Errorf("tar: %v: %s", err, out)
	}
	if _, err := h.run(nil, podman, append(h.storage, "import", tarball, h.image)...); err != nil {
		return err
	}
	_, err = h.run(nil, podman, append(h.storage, "import", "--change", "LABEL=io.containers.capabilities=CHOWN,NET_BIND_SERVICE",
		tarball, h.labelled)...)
	return err
}

// run runs an engine command with env added and returns its combined
// output; a failure's error is the engine's last error line.
func (h *host) run(env []string, bin string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
	defer cancel()
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.Env = append(append([]string{}, h.env...), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	if err := cmd.Run(); err != nil {
		return out.String(), fmt.Errorf("%s", lastError(out.String(), err))
	}
	return out.String(), nil
}

// lastError returns the most specific message of a failed command's
// output: the last message an OCI runtime logged (msg="..."), after its
// "caused: " chain, else the engine's last "Error: " line, else err's
// text.
func lastError(out string, err error) string {
	lines := strings.Split(strings.TrimSpace(out), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if _, msg, ok := strings.Cut(lines[i], `msg="`); ok {
			msg, _, _ = strings.Cut(msg, `"`+"\n")
			msg = strings.TrimSuffix(strings.ReplaceAll(msg, `\"`, `"`), `"`)
			if i := strings.LastIndex(msg, "caused: "); i >= 0 {
				msg = msg[i+len("caused: "):]
			}
			return "runtime: " + msg
		}
	}
	for i := len(lines) - 1; i >= 0; i-- {
		if msg, ok := strings.CutPrefix(strings.TrimSpace(lines[i]), "Error: "); ok {
			return msg
		}
	}
	return err.Error()
}

// status parses the Cap lines of /proc/self/status in out.
func status(out string) result {
	var r result
	var seen int
	for _, l := range strings.Split(out, "\n") {
		key, value, ok := strings.Cut(l, ":")
		if !ok {
			continue
		}
		set, err := capnames.ParseBitmap(strings.TrimSpace(value))
		switch key {
		case "CapBnd":
			r.bounding, seen = set, seen+1
		case "CapEff":
			r.effective, seen = set, seen+1
		default:
			continue
		}
		if err != nil {
			return result{err: "unreadable " + key + ": " + strconv.Quote(value)}
		}
	}
	if seen != 2 {
		return result{err: "no CapBnd and CapEff in the output: " + strconv.Quote(out)}
	}
	return r
}

// podman runs grep Cap /proc/self/status in a podman container.
func (h *host) podman(bin string, c podmanCase, runtime string) result {
	args := append(append([]string{}, h.storage...), "--tmpdir", filepath.Join(h.work, "tmp"),
		"--cgroup-manager", "cgroupfs", "--events-backend", "none", "--runtime", runtime)
	if c.module != "" {
		module := filepath.Join(h.work, "module.conf")
		if err := os.WriteFile(module, []byte(c.module), 0o644); err != nil {
			return result{err: err.Error()}
		}
		args = append(args, "--module", module)
	}
	image := h.image
	if c.labelled {
		image = h.labelled
	}
	run := append(args, "run", "--network", "none", "--ulimit", "nofile="+h.nofile,
		"--ulimit", "nproc=32768:32768", "--security-opt", "seccomp=unconfined")
	if c.exec != nil {
		return h.podmanExec(bin, args, append(append(run, "-d"), c.args...), image, c.exec)
	}
	run = append(append(append(run, "--rm"), c.args...), image, "grep", "Cap", "/proc/self/status")
	out, err := h.run(nil, bin, run...)
	if err != nil {
		return result{err: err.Error()}
	}
	return status(out)
}

// podmanExec runs a container with the podman options global and run,
// execs grep Cap /proc/self/status in it with opts, and removes it.
func (h *host) podmanExec(bin string, global, run []string, image string, opts []string) result {
	name := fmt.Sprintf("capgen-sidebyside-%d", time.Now().UnixNano())
	if _, err := h.run(nil, bin, append(append(run, "--name", name), image, "sleep", "600")...); err != nil {
		return result{err: err.Error()}
	}
	defer h.run(nil, bin, append(append([]string{}, global...), "rm", "--force", "--time", "0", name)...)
	exec := append(append(append(append([]string{}, global...), "exec"), opts...), name, "grep", "Cap", "/proc/self/status")
	out, err := h.run(nil, bin, exec...)
	if err != nil {
		return result{err: err.Error()}
	}
	return status(out)
}

// buildah runs grep Cap /proc/self/status in a buildah container.
func (h *host) buildah(bin string, c buildahCase, runtime string) result {
	name := fmt.Sprintf("capgen-sidebyside-%d", time.Now().UnixNano())
	_, err := h.run(nil, bin, append(append([]string{}, h.storage...), "from", "--name", name, "--pull=never",
		"--ulimit", "nofile="+h.nofile, "--ulimit", "nproc=32768:32768", "--security-opt", "seccomp=unconfined", h.image)...)
	if err != nil {
		return result{err: err.Error()}
	}
	defer h.run(nil, bin, append(append([]string{}, h.storage...), "rm", name)...)
	args := append(append([]string{}, h.storage...), "run")
	if c.chroot {
		args = append(args, "--isolation", "chroot")
	} else {
		args = append(args, "--isolation", "oci", "--network", "none", "--runtime", runtime)
	}
	args = append(append(args, c.args...), name, "grep", "Cap", "/proc/self/status")
	out, err := h.run(c.env, bin, args...)
	if err != nil {
		return result{err: err.Error()}
	}
	return status(out)
}

// cleanup removes every container the builds left in the storage.
func (h *host) cleanup(podmans, buildahs named) {
	for _, b := range buildahs {
		h.run(nil, b.path, append(append([]string{}, h.storage...), "rm", "--all")...)
	}
	for _, p := range podmans {
		h.run(nil, p.path, append(append([]string{}, h.storage...), "rm", "--all", "--force")...)
	}
}
