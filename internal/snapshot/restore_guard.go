package snapshot

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"

	"github.com/otelcol-chroma/otelcol-chroma/internal/storage"
)

// localBucket is a bucket kept in a local folder (file://).
type localBucket interface{ Root() string }

// checkRestoreTarget refuses a target whose replacement would destroy what a
// restore must never touch: a file system's root, the folder of a file
// bucket (the backups themselves), and the protected paths (key files,
// configs). A target is refused when it is such a path, holds one, or lies
// inside one. Paths are compared after resolving symbolic links, so a link
// to the bucket is refused like the bucket.
func (r *Repository) checkRestoreTarget(target string, protect []string) error {
	t, err := resolvePath(target)
	if err != nil {
		return fmt.Errorf("restore target %s: %w", target, err)
	}
	if filepath.Dir(t) == t {
		return fmt.Errorf("%w: %s is the file system's root: restore into Chroma's persist directory, e.g. /data", ErrUnsafeTarget, target)
	}
	if lb, ok := storage.Unwrap(r.raw).(localBucket); ok {
		if err := refuseOverlap(target, t, lb.Root(), "the bucket's folder (the snapshots themselves)"); err != nil {
			return err
		}
	}
	for _, p := range protect {
		if p == "" {
			continue
		}
		if err := refuseOverlap(target, t, p, "a file this restore reads"); err != nil {
			return err
		}
	}
	return nil
}

// refuseOverlap fails when the resolved target t and path p are the same,
// or one holds the other.
func refuseOverlap(target, t, p, what string) error {
	rp, err := resolvePath(p)
	if err != nil {
		return fmt.Errorf("restore target %s: resolve %s: %w", target, p, err)
	}
	if !within(rp, t) && !within(t, rp) {
		return nil
	}
	return fmt.Errorf("%w: %s would replace %s, %s: restore into Chroma's persist directory, which must not hold the bucket or the keys", ErrUnsafeTarget, target, p, what)
}

// within reports whether path p is dir or lies below it (both clean and
// absolute).
func within(p, dir string) bool {
	if p == dir {
		return true
	}
	return strings.HasPrefix(p, strings.TrimSuffix(dir, string(filepath.Separator))+string(filepath.Separator))
}

// resolvePath makes p absolute and resolves the symbolic links of its
// longest existing prefix; the missing rest is appended as given.
func resolvePath(p string) (string, error) {
	abs, err := filepath.Abs(p)
	if err != nil {
		return "", err
	}
	var rest []string
	for cur := abs; ; cur = filepath.Dir(cur) {
		real, err := filepath.EvalSymlinks(cur)
		if err == nil {
			return filepath.Join(append([]string{real}, rest...)...), nil
		}
		if !errors.Is(err, fs.ErrNotExist) || filepath.Dir(cur) == cur {
			return "", err
		}
		rest = append([]string{filepath.Base(cur)}, rest...)
	}
}
