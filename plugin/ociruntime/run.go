package ociruntime

// The runtime is run as a subprocess with a timeout and an output limit, in a
// process group of its own that is killed when either is exceeded; what it
// writes is made printable before it is quoted in a reason.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"unicode"

	"golang.org/x/sys/unix"
)

// output is what one run of the runtime produced. failure, when set, says
// why its stdout is not to be used.
type output struct {
	stdout   []byte
	failure  string
	timedOut bool
	// transient failures may not recur: a timeout (a loaded machine), a
	// failure to start (process limits), SIGKILL (the OOM killer). They
	// are not cached.
	transient bool
}

// stderrLimit bounds the stderr kept for failure reasons.
const stderrLimit = 4096

// exec runs path with args, with p's timeout and output limit, killing its
// process group when either is exceeded or ctx ends.
//
// The pipes are its own rather than os/exec's, so that it waits for their
// end exactly as long as the timeout allows: a runtime that exits while a
// child it left behind holds stdout costs at most the timeout, and a slow
// reader after a normal exit is never mistaken for a failure.
func (p *Prober) exec(ctx context.Context, path string, args ...string) output {
	ctx, cancel := context.WithTimeout(ctx, p.timeout())
	defer cancel()
	stdout := &cappedBuffer{limit: p.outputLimit(), onOverflow: cancel}
	stderr := &cappedBuffer{limit: stderrLimit}
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	read, err := startWithPipes(cmd, stdout, stderr)
	if err != nil {
		return output{failure: "could not run: " + printable(err.Error()), transient: true}
	}
	exited := make(chan error, 1)
	go func() {
		err := cmd.Wait()
		read(ctx)
		exited <- err
	}()
	select {
	case err = <-exited:
	case <-ctx.Done():
		// Timeout, overflow or the caller's cancellation: the answer is
		// known now. Kill the group (os/exec does too, from another
		// goroutine) and let the goroutine above reap it, rather than
		// wait for the kernel to tear down processes it may take a
		// loaded machine a while to schedule.
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
	return p.outcome(ctx, err, stdout, stderr)
}

// outcome is what a run of the runtime produced, given the context it ran
// under, the error of its Wait (nil when the context ended first) and what
// it wrote.
func (p *Prober) outcome(ctx context.Context, err error, stdout, stderr *cappedBuffer) output {
	switch {
	case stdout.overflowed():
		return output{failure: "output exceeds " + byteSize(p.outputLimit())}
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return output{failure: "timed out after " + p.timeout().String(), timedOut: true, transient: true}
	case ctx.Err() != nil:
		return output{failure: "cancelled"} // the caller's: run reports ctx.Err()
	case err == nil:
		return output{stdout: stdout.buf}
	}
	var exit *exec.ExitError
	if !errors.As(err, &exit) {
		return output{failure: "could not run: " + printable(err.Error()), transient: true}
	}
	if ws, ok := exit.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return output{failure: "killed by signal " + unix.SignalName(ws.Signal()), transient: ws.Signal() == syscall.SIGKILL}
	}
	failure := fmt.Sprintf("exited with status %d", exit.ExitCode())
	if msg := firstLine(stderr.buf); msg != "" {
		failure += ": " + msg
	}
	return output{failure: failure}
}

// startWithPipes starts cmd with its stdout and stderr on pipes copied to
// the given writers. The returned read waits until both pipes are drained,
// or until ctx ends, when it closes them.
func startWithPipes(cmd *exec.Cmd, stdout, stderr io.Writer) (read func(context.Context), err error) {
	var readEnds, writeEnds []*os.File
	closeAll := func(files []*os.File) {
		for _, f := range files {
			f.Close()
		}
	}
	for range 2 {
		r, w, err := os.Pipe()
		if err != nil {
			closeAll(readEnds)
			closeAll(writeEnds)
			return nil, err
		}
		readEnds, writeEnds = append(readEnds, r), append(writeEnds, w)
	}
	cmd.Stdout, cmd.Stderr = writeEnds[0], writeEnds[1]
	err = cmd.Start()
	closeAll(writeEnds) // the child has its copies
	if err != nil {
		closeAll(readEnds)
		return nil, err
	}
	var wg sync.WaitGroup
	for i, w := range []io.Writer{stdout, stderr} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			io.Copy(w, readEnds[i])
		}()
	}
	drained := make(chan struct{})
	go func() { wg.Wait(); close(drained) }()
	return func(ctx context.Context) {
		select {
		case <-drained:
		case <-ctx.Done():
		}
		closeAll(readEnds) // unblocks the copies if something still holds a pipe
		<-drained
	}, nil
}

// cappedBuffer keeps up to limit bytes and discards the rest, noting the
// overflow and calling onOverflow once. Only overflowed may be called while
// a Write may still be running.
type cappedBuffer struct {
	buf        []byte
	limit      int64
	overflow   atomic.Bool
	onOverflow func()
}

func (b *cappedBuffer) Write(data []byte) (int, error) {
	if b.overflow.Load() {
		return len(data), nil
	}
	room := b.limit - int64(len(b.buf))
	if int64(len(data)) <= room {
		b.buf = append(b.buf, data...)
		return len(data), nil
	}
	b.buf = append(b.buf, data[:room]...)
	b.overflow.Store(true)
	if b.onOverflow != nil {
		b.onOverflow()
	}
	return len(data), nil
}

func (b *cappedBuffer) overflowed() bool { return b.overflow.Load() }

// maxMessage bounds the runtime-provided text quoted in a reason.
const maxMessage = 200

// firstLine returns the first non-empty line of b, made printable.
func firstLine(b []byte) string {
	for line := range strings.Lines(string(b)) {
		if line = strings.TrimSpace(line); line != "" {
			return printable(line)
		}
	}
	return ""
}

// printable replaces control and other unprintable characters of text a
// runtime wrote, so a reason cannot drive a terminal, and bounds its length.
func printable(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsPrint(r) {
			return r
		}
		return '?'
	}, s)
	if r := []rune(s); len(r) > maxMessage {
		s = string(r[:maxMessage]) + "…"
	}
	return s
}

// byteSize formats n as the limits are usually given: "1 MiB", "64 KiB".
func byteSize(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}
