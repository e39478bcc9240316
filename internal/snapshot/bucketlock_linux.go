package snapshot

import (
	"errors"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// machineIdentity returns the boot id, the pid namespace and the start time
// (clock ticks since boot) of process pid, "" or 0 where unknown.
func machineIdentity(pid int) (bootID, pidNS string, start uint64) {
	if b, err := os.ReadFile("/proc/sys/kernel/random/boot_id"); err == nil {
		bootID = strings.TrimSpace(string(b))
	}
	pidNS, _ = os.Readlink("/proc/self/ns/pid")
	start, _ = processStart(pid)
	return bootID, pidNS, start
}

// processStart reads field 22 (starttime) of /proc/<pid>/stat.
func processStart(pid int) (uint64, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, err
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')') // the command name may hold spaces
	if i < 0 {
		return 0, errors.New("unexpected /proc stat format")
	}
	fields := strings.Fields(s[i+1:])
	// fields[0] is field 3 (state), so starttime (field 22) is fields[19].
	if len(fields) < 20 {
		return 0, errors.New("unexpected /proc stat format")
	}
	return strconv.ParseUint(fields[19], 10, 64)
}

// processRunning reports whether pid runs and, when start is known, is
// still the process that started then (not a reused pid). When in doubt it
// reports true: a live lock is never taken for stale on a guess.
func processRunning(pid int, start uint64) bool {
	if pid <= 0 {
		return true
	}
	if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
		return false
	}
	if start == 0 {
		return true
	}
	got, err := processStart(pid)
	if err != nil {
		return !errors.Is(err, os.ErrNotExist)
	}
	return got == start
}
