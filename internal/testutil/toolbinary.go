package testutil

import (
	"fmt"
	"os"
	"path/filepath"
)

// ToolBinary finds a server binary that a script installs into
// <repo>/.tools/bin: $envVar when set, else .tools/bin/name. When missing it
// returns "" and a hint that names installHint.
func ToolBinary(envVar, name, installHint string) (path, hint string) {
	hint = fmt.Sprintf("%s or set %s", installHint, envVar)
	if p := os.Getenv(envVar); p != "" {
		if isExecutable(p) {
			return p, ""
		}
		return "", fmt.Sprintf("%s=%s is not an executable file", envVar, p)
	}
	root, err := RepoRoot()
	if err != nil {
		return "", fmt.Sprintf("%s not found (%v); %s", name, err, hint)
	}
	p := filepath.Join(root, ".tools", "bin", name)
	if !isExecutable(p) {
		return "", fmt.Sprintf("%s not found at %s; %s", name, p, hint)
	}
	return p, ""
}

func isExecutable(p string) bool {
	info, err := os.Stat(p)
	return err == nil && info.Mode().IsRegular() && info.Mode()&0o111 != 0
}
