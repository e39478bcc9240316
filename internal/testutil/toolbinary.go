package testutil

import (
	"fmt"
	"os"
	"path/filepath"
)

// ToolBinary returns the path of a tool the tests run: $envVar when set,
// else .tools/<toolsPath> in the repository (where `make tools` installs
// it); or "" and a hint that says how to get it.
func ToolBinary(envVar, toolsPath, installHint string) (path, hint string) {
	name := filepath.Base(toolsPath)
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
	p := filepath.Join(root, ".tools", filepath.FromSlash(toolsPath))
	if !isExecutable(p) {
		return "", fmt.Sprintf("%s not found at %s; %s", name, p, hint)
	}
	return p, ""
}

func isExecutable(p string) bool {
	info, err := os.Stat(p)
	return err == nil && info.Mode().IsRegular() && info.Mode()&0o111 != 0
}
