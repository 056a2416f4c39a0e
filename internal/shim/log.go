package shim

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/capgen-dev/capgen/internal/shim/record"
	"github.com/capgen-dev/capgen/plugin/ociruntime"
)

// The shim's warnings never go to its stdout or stderr: with no terminal
// those are the container's, and engines copy them into the container's
// log (docker logs, the CRI log). They go where the runtime's own messages
// go, the --log file the engine passes, in its --log-format; without
// --log, to the shim's own log file.

// DefaultLogFile is where the shim's warnings go when the engine passes no
// --log: "shim.log" in the probe cache directory
// (/run/containers/capgen/shim.log for root).
func DefaultLogFile() (string, error) {
	dir, err := ociruntime.DefaultCacheDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, "shim.log"), nil
}

// logger collects the shim's messages and appends them to a log file in
// one write.
type logger struct {
	path   string
	json   bool   // --log-format json, as runc and crun write it
	prefix string // names the shim in text lines
	lines  []string
}

// logger returns the logger for cl: its --log, else opts.LogFile, else
// DefaultLogFile.
func (opts Options) logger(cl record.CommandLine) *logger {
	l := &logger{path: cl.Log, json: cl.LogFormat == "json", prefix: Prefix + opts.Runtime}
	if l.path == "" {
		l.json = false
		l.path = opts.LogFile
		if l.path == "" {
			l.path, _ = DefaultLogFile()
		}
	}
	return l
}

// add adds warnings to write.
func (l *logger) add(warnings ...string) { l.lines = append(l.lines, warnings...) }

// flush appends the warnings, one line each, in the log's format. A log
// that cannot be written loses them: warnings must never fail a container.
func (l *logger) flush() {
	if l.path == "" || len(l.lines) == 0 {
		return
	}
	now := time.Now().UTC().Format(time.RFC3339Nano)
	var text []byte
	for _, w := range l.lines {
		msg := l.prefix + ": " + w
		if l.json {
			line, _ := json.Marshal(struct {
				Level string `json:"level"`
				Msg   string `json:"msg"`
				Time  string `json:"time"`
			}{"warning", msg, now})
			text = append(append(text, line...), '\n')
		} else {
			text = fmt.Appendf(text, "time=%q level=warning msg=%s\n", now, strconv.Quote(msg))
		}
	}
	l.lines = nil
	if err := os.MkdirAll(filepath.Dir(l.path), 0o700); err != nil {
		return
	}
	f, err := os.OpenFile(l.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return
	}
	defer f.Close()
	f.Write(text)
}
