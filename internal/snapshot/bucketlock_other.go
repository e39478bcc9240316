//go:build !linux

package snapshot

// machineIdentity is unknown off Linux: locks then go stale by expiry only.
func machineIdentity(int) (bootID, pidNS string, start uint64) { return "", "", 0 }

// processRunning cannot tell off Linux, so it never calls a lock stale.
func processRunning(int, uint64) bool { return true }
