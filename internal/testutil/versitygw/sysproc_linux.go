package versitygw

import "syscall"

// sysProcAttr puts the gateway in its own process group and has the kernel
// kill it if the test binary dies first.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
