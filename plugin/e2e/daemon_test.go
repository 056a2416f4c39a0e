package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// client runs a daemon's command-line client, bin with the options that
// reach the daemon (global) and args, and returns its combined output; the
// error names the arguments and holds the output.
func client(bin string, global []string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), engineTimeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, append(append([]string{}, global...), args...)...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("%s %s: %v\n%s", bin, strings.Join(args, " "), err, out)
	}
	return string(out), nil
}

// startDaemon starts a daemon of the test's own, logging to logPath, and
// waits up to wait for ready to succeed; it fails t, with the log, if it
// does not. The caller stops it with stopDaemon.
func startDaemon(t *testing.T, cmd *exec.Cmd, logPath string, wait time.Duration, ready func() error) {
	t.Helper()
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(wait); ready() != nil; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			stopDaemon(cmd, time.Second)
			data, _ := os.ReadFile(logPath)
			t.Fatalf("%s did not become ready in %v:\n%s", cmd.Path, wait, data)
		}
	}
}

// stopDaemon stops a daemon by its PID: SIGTERM, then SIGKILL after grace.
func stopDaemon(cmd *exec.Cmd, grace time.Duration) {
	cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(grace):
		cmd.Process.Kill()
		<-done
	}
}
