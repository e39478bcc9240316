package chromaapi

import "syscall"

// sysProcAttr puts the server in its own process group, so that stopping
// it stops whatever it started, and has the kernel kill it when the process
// that started it dies: a restore killed with SIGKILL leaves no Chroma
// running on its scratch copy.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

func signalGroup(pid int, sig syscall.Signal) error { return syscall.Kill(-pid, sig) }
