package base

import (
	"fmt"
	"strings"
)

// ValidateKey reports whether key is a well-formed object key: non-empty,
// slash-separated, relative, with no empty, "." or ".." segments and no NUL
// bytes. Every backend accepts exactly these keys, so a snapshot written to a
// local folder can be copied to S3 and back unchanged.
func ValidateKey(key string) error {
	if key == "" {
		return fmt.Errorf("invalid object key: empty")
	}
	if strings.HasPrefix(key, "/") {
		return fmt.Errorf("invalid object key %q: must be relative (no leading slash)", key)
	}
	if strings.ContainsRune(key, 0) {
		return fmt.Errorf("invalid object key %q: contains a NUL byte", key)
	}
	if strings.ContainsRune(key, '\\') {
		return fmt.Errorf("invalid object key %q: contains a backslash; use '/' to separate segments", key)
	}
	for seg := range strings.SplitSeq(key, "/") {
		switch seg {
		case "":
			return fmt.Errorf("invalid object key %q: empty path segment", key)
		case ".", "..":
			return fmt.Errorf("invalid object key %q: %q segments are not allowed", key, seg)
		}
	}
	return nil
}

// ValidatePrefix reports whether prefix may be passed to List. The empty
// prefix (everything) is valid, and so is a prefix that ends inside a segment
// ("snap" matches "snapshots/...") or at a slash ("snapshots/"). Every
// complete segment must be valid as in ValidateKey.
func ValidatePrefix(prefix string) error {
	if prefix == "" {
		return nil
	}
	i := strings.LastIndexByte(prefix, '/')
	if i < 0 {
		if strings.ContainsAny(prefix, "\\\x00") {
			return fmt.Errorf("invalid list prefix %q: contains a backslash or NUL byte", prefix)
		}
		return nil
	}
	if err := ValidateKey(prefix[:i]); err != nil {
		return fmt.Errorf("invalid list prefix %q: %w", prefix, err)
	}
	if strings.ContainsAny(prefix[i+1:], "\\\x00") {
		return fmt.Errorf("invalid list prefix %q: contains a backslash or NUL byte", prefix)
	}
	return nil
}
