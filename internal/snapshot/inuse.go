package snapshot

import (
	"fmt"
	"strings"
)

// dirUser is a process that holds a file open in a restore target.
type dirUser struct {
	PID     int
	Command string
	Path    string // one of the files it holds open
}

func (u dirUser) String() string {
	return fmt.Sprintf("process %d (%s) has %s open", u.PID, u.Command, u.Path)
}

// refuseInUse fails with ErrTargetInUse when a process of this machine
// holds a file open in target: replacing the folder under a running Chroma
// would leave it serving, and writing to, the deleted old files, and every
// write it takes after the restore would be lost at its next start. A
// target that does not exist yet has no users.
func refuseInUse(target string) error {
	dir, err := resolvePath(target)
	if err != nil {
		return fmt.Errorf("restore target %s: %w", target, err)
	}
	users, err := openFilesUnder(dir)
	if err != nil || len(users) == 0 {
		// Processes that cannot be listed (no /proc) cannot be told: not
		// knowing must not stop a restore.
		return nil
	}
	names := make([]string, 0, min(3, len(users)))
	for _, u := range users[:min(3, len(users))] {
		names = append(names, u.String())
	}
	return fmt.Errorf("%w: %s (%s); stop Chroma (scale its StatefulSet to 0, or stop its process) and run the restore again; nothing was changed",
		ErrTargetInUse, target, strings.Join(names, "; "))
}
