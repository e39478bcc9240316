package file

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// RemoveLeftovers deletes the temporary files that writes killed before
// their rename left behind (List never shows them), when last modified
// before olderThan: younger ones may belong to a write still running. With
// dryRun it only counts them.
func (b *Bucket) RemoveLeftovers(ctx context.Context, olderThan time.Time, dryRun bool) (n int, size int64, err error) {
	err = filepath.WalkDir(b.root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if isNotExist(err) {
				return nil // removed while walking
			}
			return err
		}
		if cerr := ctx.Err(); cerr != nil {
			return cerr
		}
		if d.IsDir() || !strings.HasPrefix(d.Name(), tempPrefix) || !d.Type().IsRegular() {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			if isNotExist(err) {
				return nil
			}
			return err
		}
		if !info.ModTime().Before(olderThan) {
			return nil
		}
		if !dryRun {
			if err := os.Remove(p); err != nil && !isNotExist(err) {
				return err
			}
		}
		n++
		size += info.Size()
		return nil
	})
	if err != nil {
		return n, size, fmt.Errorf("remove leftovers in %s: %w", b, permanentIfDenied(err))
	}
	return n, size, nil
}
