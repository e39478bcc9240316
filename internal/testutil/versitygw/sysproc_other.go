//go:build unix && !linux

package versitygw

import "syscall"

// sysProcAttr puts the gateway in its own process group.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
