//go:build linux

package snapshot

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// openFilesUnder lists the processes of this machine, other than this one,
// that hold a file open under dir (a clean absolute path without symbolic
// links), from /proc: a Chroma still running on a restore target. Processes
// this user may not inspect, and processes of another PID namespace
// (another container or pod), are not seen.
func openFilesUnder(dir string) ([]dirUser, error) {
	procs, err := os.ReadDir("/proc")
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	self := os.Getpid()
	var users []dirUser
	for _, p := range procs {
		pid, err := strconv.Atoi(p.Name())
		if err != nil || pid == self {
			continue
		}
		if path := openFileUnder(pid, dir); path != "" {
			users = append(users, dirUser{PID: pid, Command: processName(pid), Path: path})
		}
	}
	return users, nil
}

// openFileUnder returns one file under dir that process pid holds open, or
// "" (also when the process is gone or may not be inspected).
func openFileUnder(pid int, dir string) string {
	fdDir := filepath.Join("/proc", strconv.Itoa(pid), "fd")
	fds, err := os.ReadDir(fdDir)
	if err != nil {
		return ""
	}
	for _, fd := range fds {
		link, err := os.Readlink(filepath.Join(fdDir, fd.Name()))
		if err != nil {
			continue
		}
		path := strings.TrimSuffix(link, " (deleted)")
		if filepath.IsAbs(path) && within(path, dir) {
			return path
		}
	}
	return ""
}

// processName is the executable name the kernel keeps for pid (never its
// arguments, which may hold secrets).
func processName(pid int) string {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "comm"))
	if err != nil {
		return "?"
	}
	return strings.TrimSpace(string(b))
}
