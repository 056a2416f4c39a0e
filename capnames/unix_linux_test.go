package capnames

import (
	"testing"

	"golang.org/x/sys/unix"
)

// unixCaps lists, by hand, every capability constant golang.org/x/sys/unix
// defines, next to ours. Writing the pairs out is the point: a generator
// bug that renumbers a capability, or a table built from a broken header,
// fails to match an independent copy of the kernel's numbers.
var unixCaps = []struct {
	name string
	ours Cap
	unix int
}{
	{"CAP_CHOWN", CAP_CHOWN, unix.CAP_CHOWN},
	{"CAP_DAC_OVERRIDE", CAP_DAC_OVERRIDE, unix.CAP_DAC_OVERRIDE},
	{"CAP_DAC_READ_SEARCH", CAP_DAC_READ_SEARCH, unix.CAP_DAC_READ_SEARCH},
	{"CAP_FOWNER", CAP_FOWNER, unix.CAP_FOWNER},
	{"CAP_FSETID", CAP_FSETID, unix.CAP_FSETID},
	{"CAP_KILL", CAP_KILL, unix.CAP_KILL},
	{"CAP_SETGID", CAP_SETGID, unix.CAP_SETGID},
	{"CAP_SETUID", CAP_SETUID, unix.CAP_SETUID},
	{"CAP_SETPCAP", CAP_SETPCAP, unix.CAP_SETPCAP},
	{"CAP_LINUX_IMMUTABLE", CAP_LINUX_IMMUTABLE, unix.CAP_LINUX_IMMUTABLE},
	{"CAP_NET_BIND_SERVICE", CAP_NET_BIND_SERVICE, unix.CAP_NET_BIND_SERVICE},
	{"CAP_NET_BROADCAST", CAP_NET_BROADCAST, unix.CAP_NET_BROADCAST},
	{"CAP_NET_ADMIN", CAP_NET_ADMIN, unix.CAP_NET_ADMIN},
	{"CAP_NET_RAW", CAP_NET_RAW, unix.CAP_NET_RAW},
	{"CAP_IPC_LOCK", CAP_IPC_LOCK, unix.CAP_IPC_LOCK},
	{"CAP_IPC_OWNER", CAP_IPC_OWNER, unix.CAP_IPC_OWNER},
	{"CAP_SYS_MODULE", CAP_SYS_MODULE, unix.CAP_SYS_MODULE},
	{"CAP_SYS_RAWIO", CAP_SYS_RAWIO, unix.CAP_SYS_RAWIO},
	{"CAP_SYS_CHROOT", CAP_SYS_CHROOT, unix.CAP_SYS_CHROOT},
	{"CAP_SYS_PTRACE", CAP_SYS_PTRACE, unix.CAP_SYS_PTRACE},
	{"CAP_SYS_PACCT", CAP_SYS_PACCT, unix.CAP_SYS_PACCT},
	{"CAP_SYS_ADMIN", CAP_SYS_ADMIN, unix.CAP_SYS_ADMIN},
	{"CAP_SYS_BOOT", CAP_SYS_BOOT, unix.CAP_SYS_BOOT},
	{"CAP_SYS_NICE", CAP_SYS_NICE, unix.CAP_SYS_NICE},
	{"CAP_SYS_RESOURCE", CAP_SYS_RESOURCE, unix.CAP_SYS_RESOURCE},
	{"CAP_SYS_TIME", CAP_SYS_TIME, unix.CAP_SYS_TIME},
	{"CAP_SYS_TTY_CONFIG", CAP_SYS_TTY_CONFIG, unix.CAP_SYS_TTY_CONFIG},
	{"CAP_MKNOD", CAP_MKNOD, unix.CAP_MKNOD},
	{"CAP_LEASE", CAP_LEASE, unix.CAP_LEASE},
	{"CAP_AUDIT_WRITE", CAP_AUDIT_WRITE, unix.CAP_AUDIT_WRITE},
	{"CAP_AUDIT_CONTROL", CAP_AUDIT_CONTROL, unix.CAP_AUDIT_CONTROL},
	{"CAP_SETFCAP", CAP_SETFCAP, unix.CAP_SETFCAP},
	{"CAP_MAC_OVERRIDE", CAP_MAC_OVERRIDE, unix.CAP_MAC_OVERRIDE},
	{"CAP_MAC_ADMIN", CAP_MAC_ADMIN, unix.CAP_MAC_ADMIN},
	{"CAP_SYSLOG", CAP_SYSLOG, unix.CAP_SYSLOG},
	{"CAP_WAKE_ALARM", CAP_WAKE_ALARM, unix.CAP_WAKE_ALARM},
	{"CAP_BLOCK_SUSPEND", CAP_BLOCK_SUSPEND, unix.CAP_BLOCK_SUSPEND},
	{"CAP_AUDIT_READ", CAP_AUDIT_READ, unix.CAP_AUDIT_READ},
	{"CAP_PERFMON", CAP_PERFMON, unix.CAP_PERFMON},
	{"CAP_BPF", CAP_BPF, unix.CAP_BPF},
	{"CAP_CHECKPOINT_RESTORE", CAP_CHECKPOINT_RESTORE, unix.CAP_CHECKPOINT_RESTORE},
}

func TestAgreesWithXSysUnix(t *testing.T) {
	seen := make(map[int]string)
	for _, u := range unixCaps {
		if int(u.ours) != u.unix {
			t.Errorf("%s: capnames has %d, x/sys/unix %d", u.name, u.ours, u.unix)
		}
		if got, err := Parse(u.name); err != nil || int(got) != u.unix {
			t.Errorf("Parse(%q) = %d, %v; x/sys/unix has %d", u.name, got, err, u.unix)
		}
		if got := Cap(u.unix).String(); got != u.name {
			t.Errorf("Cap(%d).String() = %q; x/sys/unix calls it %s", u.unix, got, u.name)
		}
		if prev, dup := seen[u.unix]; dup {
			t.Errorf("x/sys/unix numbers both %s and %s %d", prev, u.name, u.unix)
		}
		seen[u.unix] = u.name
	}
	// The list above must be all of x/sys/unix's capabilities: upstream
	// numbers them 0..CAP_LAST_CAP without gaps, so it has exactly
	// CAP_LAST_CAP+1 distinct values. A newer x/sys with a new capability
	// fails here until the pair is added.
	if len(seen) != unix.CAP_LAST_CAP+1 {
		t.Errorf("the list pairs %d capabilities, x/sys/unix has 0..%d", len(seen), unix.CAP_LAST_CAP)
	}
}

// TestLastNotOlderThanXSysUnix compares the table's last capability with
// x/sys/unix's CAP_LAST_CAP. They are equal today. The table may legitimately
// run ahead (regenerated from a kernel newer than the headers x/sys was
// generated from), but never behind: a table that lacks a capability x/sys
// already knows is the stale table capgen exists to prevent.
func TestLastNotOlderThanXSysUnix(t *testing.T) {
	switch {
	case int(Last) < unix.CAP_LAST_CAP:
		t.Errorf("Last = %v (%d), older than x/sys/unix CAP_LAST_CAP %d; regenerate the table", Last, int(Last), unix.CAP_LAST_CAP)
	case int(Last) > unix.CAP_LAST_CAP:
		t.Logf("table (kernel %s) is ahead of x/sys/unix: Last %d, CAP_LAST_CAP %d", TableKernel, int(Last), unix.CAP_LAST_CAP)
	}
}
