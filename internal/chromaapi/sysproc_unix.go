//go:build unix && !linux

package chromaapi

import "syscall"

// sysProcAttr puts the server in its own process group, so that stopping
// it stops whatever it started (the npm wrapper runs the real binary).
func sysProcAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setpgid: true} }

func signalGroup(pid int, sig syscall.Signal) error { return syscall.Kill(-pid, sig) }
