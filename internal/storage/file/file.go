// Package file is a storage.Bucket backed by a folder on a local (or mounted)
// filesystem. Object keys map to files under the root folder; "a/b/c" is
// <root>/a/b/c.
//
// Writes are atomic: data goes to a temporary file in the target's folder, is
// fsynced, and only then renamed (Write) or hard-linked (CreateIfAbsent) to
// its final name, after which the folder is fsynced too. A crash leaves at
// most a temporary file, which List never reports and a later Write of the
// same folder does not trip over.
//
// Objects of block size (64 KiB to 8 MiB) are written with direct I/O where
// the file system supports it, so storing a snapshot neither copies it
// through the page cache nor evicts the pages of the database being backed
// up.
//
// Unlike object stores, a filesystem cannot hold both "a" and "a/b"; writing
// one when the other exists fails.
package file

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"iter"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	"github.com/otelcol-chroma/otelcol-chroma/internal/durable"
	"github.com/otelcol-chroma/otelcol-chroma/internal/storage/internal/base"
)

// tempPrefix starts the name of every in-progress file. Keys whose segments
// start with it are rejected so that List can skip temporary files safely.
const tempPrefix = ".storage-tmp-"

const dirPerm = 0o750

// Bucket stores objects as files under a root folder.
type Bucket struct {
	root string
}

// New returns a bucket rooted at dir. It never creates dir: a folder that
// does not exist (a typo, or a volume that is not mounted) is a bucket that
// does not exist, and every operation on it fails with ErrNoBucket, as an S3
// bucket that was never created does. Folders below dir are created as
// objects are written.
func New(dir string) (*Bucket, error) {
	if dir == "" {
		return nil, fmt.Errorf("file bucket: empty folder path")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("file bucket %s: %w", dir, err)
	}
	info, err := os.Stat(abs)
	switch {
	case isNotExist(err):
		// Reported by the first operation, like a missing S3 bucket.
	case err != nil:
		return nil, fmt.Errorf("file bucket %s: %w", abs, permanentIfDenied(err))
	case !info.IsDir():
		return nil, fmt.Errorf("file bucket %s: not a folder: %w", abs, base.ErrPermanent)
	}
	return &Bucket{root: abs}, nil
}

// checkRoot returns an ErrNoBucket error when the root folder is missing.
func (b *Bucket) checkRoot() error {
	_, err := os.Stat(b.root)
	if isNotExist(err) {
		return fmt.Errorf("folder %s does not exist: create it first, or check the path and that its volume is mounted: %w: %w", b.root, base.ErrNoBucket, base.ErrPermanent)
	}
	return nil
}

// mkdirBelowRoot creates dir and the folders between it and the root, but
// never the root itself.
func (b *Bucket) mkdirBelowRoot(dir string) error {
	if err := b.checkRoot(); err != nil {
		return err
	}
	rel, err := filepath.Rel(b.root, dir)
	if err != nil || rel == "." {
		return err
	}
	p := b.root
	for seg := range strings.SplitSeq(rel, string(filepath.Separator)) {
		p = filepath.Join(p, seg)
		if err := os.Mkdir(p, dirPerm); err != nil && !errors.Is(err, fs.ErrExist) {
			return err
		}
	}
	return nil
}

// Root returns the absolute folder the bucket stores objects in.
func (b *Bucket) Root() string { return b.root }

// String names the bucket as a file:// URL.
func (b *Bucket) String() string { return "file://" + filepath.ToSlash(b.root) }

func (b *Bucket) path(key string) (string, error) {
	if err := base.ValidateKey(key); err != nil {
		return "", fmt.Errorf("%w: %w", err, base.ErrPermanent)
	}
	for seg := range strings.SplitSeq(key, "/") {
		if strings.HasPrefix(seg, tempPrefix) {
			return "", fmt.Errorf("invalid object key %q: segments starting with %q are reserved: %w", key, tempPrefix, base.ErrPermanent)
		}
	}
	return filepath.Join(b.root, filepath.FromSlash(key)), nil
}

// Read opens the object's file for streaming.
func (b *Bucket) Read(ctx context.Context, key string) (io.ReadCloser, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	p, err := b.path(key)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, b.opError("read", key, err)
	}
	info, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, b.opError("read", key, err)
	}
	if !info.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("read %s in %s: %w", key, b, base.ErrNotExist)
	}
	return f, nil
}

// Stat describes the object's file.
func (b *Bucket) Stat(ctx context.Context, key string) (base.ObjectInfo, error) {
	if err := ctx.Err(); err != nil {
		return base.ObjectInfo{}, err
	}
	p, err := b.path(key)
	if err != nil {
		return base.ObjectInfo{}, err
	}
	info, err := os.Stat(p)
	if err != nil {
		return base.ObjectInfo{}, b.opError("stat", key, err)
	}
	if !info.Mode().IsRegular() {
		return base.ObjectInfo{}, fmt.Errorf("stat %s in %s: %w", key, b, base.ErrNotExist)
	}
	return base.ObjectInfo{Key: key, Size: info.Size(), Modified: info.ModTime()}, nil
}

// Write stores r under key, replacing any existing object atomically.
func (b *Bucket) Write(ctx context.Context, key string, r io.Reader, size int64) error {
	p, err := b.path(key)
	if err != nil {
		return err
	}
	tmp, err := b.writeTemp(ctx, key, p, r, size)
	if err != nil {
		return err
	}
	if err := os.Rename(tmp, p); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s in %s: %w", key, b, permanentIfDenied(err))
	}
	if err := durable.SyncDir(filepath.Dir(p)); err != nil {
		return b.writeError("write", key, err)
	}
	return nil
}

// CreateIfAbsent stores r under key only if no object exists there. The final
// name is created with link(2), which fails atomically if the name is taken,
// so of several concurrent callers exactly one succeeds.
func (b *Bucket) CreateIfAbsent(ctx context.Context, key string, r io.Reader, size int64) error {
	p, err := b.path(key)
	if err != nil {
		return err
	}
	if _, err := os.Lstat(p); err == nil {
		return fmt.Errorf("create %s in %s: %w", key, b, base.ErrExists)
	}
	tmp, err := b.writeTemp(ctx, key, p, r, size)
	if err != nil {
		return err
	}
	defer os.Remove(tmp)
	if err := os.Link(tmp, p); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("create %s in %s: %w", key, b, base.ErrExists)
		}
		return fmt.Errorf("create %s in %s: %w", key, b, permanentIfDenied(err))
	}
	if err := os.Remove(tmp); err != nil {
		return b.writeError("create", key, err)
	}
	if err := durable.SyncDir(filepath.Dir(p)); err != nil {
		return b.writeError("create", key, err)
	}
	return nil
}

// writeTemp copies r into a new, fsynced temporary file beside p and returns
// its name. On error nothing is left behind.
func (b *Bucket) writeTemp(ctx context.Context, key, p string, r io.Reader, size int64) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	dir := filepath.Dir(p)
	var f *os.File
	// A concurrent Delete may remove the (then empty) folder between MkdirAll
	// and CreateTemp; try again a few times rather than fail the write.
	for attempt := 0; ; attempt++ {
		err := b.mkdirBelowRoot(dir)
		if err == nil {
			f, err = os.CreateTemp(dir, tempPrefix+"*")
			if err == nil {
				break
			}
		}
		if !errors.Is(err, fs.ErrNotExist) || attempt >= 5 {
			return "", fmt.Errorf("write %s in %s: %w", key, b, permanentIfDenied(err))
		}
	}
	tmp := f.Name()
	var err error
	fail := func(err error) (string, error) {
		f.Close()
		os.Remove(tmp)
		return "", err
	}
	var n int64
	if size >= directMin && size <= directMax {
		n, err = copyDirect(f, r, size)
	} else {
		n, err = io.Copy(f, &ctxReader{ctx: ctx, r: r})
	}
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return fail(ctxErr)
		}
		return fail(b.writeError("write", key, err))
	}
	if size >= 0 && n != size {
		return fail(fmt.Errorf("write %s in %s: reader gave %d bytes, caller said %d: %w", key, b, n, size, base.ErrPermanent))
	}
	if err := f.Sync(); err != nil {
		return fail(b.writeError("write", key, err))
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return "", b.writeError("write", key, err)
	}
	return tmp, nil
}

// Delete removes the object's file, and then any folders it leaves empty.
func (b *Bucket) Delete(ctx context.Context, key string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	p, err := b.path(key)
	if err != nil {
		return err
	}
	info, err := os.Lstat(p)
	if err != nil {
		if isNotExist(err) {
			return nil
		}
		return b.opError("delete", key, err)
	}
	if info.IsDir() {
		return nil // a folder is not an object
	}
	if err := os.Remove(p); err != nil {
		if isNotExist(err) {
			return nil
		}
		return b.opError("delete", key, err)
	}
	dir := filepath.Dir(p)
	if err := durable.SyncDir(dir); err != nil && !isNotExist(err) {
		return b.opError("delete", key, err)
	}
	// Best effort: Remove fails harmlessly on a folder that is not empty.
	for dir != b.root && strings.HasPrefix(dir, b.root) {
		if os.Remove(dir) != nil {
			break
		}
		dir = filepath.Dir(dir)
	}
	return nil
}

// List yields the objects under prefix in lexical key order. It walks only
// the folder the prefix points into and streams results, so memory does not
// grow with the number of objects.
func (b *Bucket) List(ctx context.Context, prefix string) iter.Seq2[base.ObjectInfo, error] {
	return func(yield func(base.ObjectInfo, error) bool) {
		if err := base.ValidatePrefix(prefix); err != nil {
			yield(base.ObjectInfo{}, fmt.Errorf("%w: %w", err, base.ErrPermanent))
			return
		}
		if err := b.checkRoot(); err != nil {
			yield(base.ObjectInfo{}, fmt.Errorf("list %s in %s: %w", prefix, b, err))
			return
		}
		dirKey, partial := "", prefix
		if i := strings.LastIndexByte(prefix, '/'); i >= 0 {
			dirKey, partial = prefix[:i+1], prefix[i+1:]
		}
		b.walk(ctx, dirKey, partial, yield)
	}
}

type walkEntry struct {
	sortKey string // name, plus "/" for folders: keys compare the same way
	name    string
	isDir   bool
}

// walk yields, in lexical key order, the objects under the folder named by
// dirKey ("" or ending in "/") whose first segment below it starts with
// partial. It returns false once yield asked to stop.
//
// Sorting each folder's entries by name, with "/" appended to folder names,
// and descending depth-first yields keys in the same order as sorting the full
// keys would: every key below folder n starts with n+"/", and no sibling name
// contains a slash.
func (b *Bucket) walk(ctx context.Context, dirKey, partial string, yield func(base.ObjectInfo, error) bool) bool {
	if err := ctx.Err(); err != nil {
		return yield(base.ObjectInfo{}, err)
	}
	dir := filepath.Join(b.root, filepath.FromSlash(dirKey))
	dirEntries, err := os.ReadDir(dir)
	if err != nil {
		if isNotExist(err) {
			return true // nothing there (or removed while walking)
		}
		return yield(base.ObjectInfo{}, fmt.Errorf("list %s in %s: %w", dirKey, b, permanentIfDenied(err)))
	}
	entries := make([]walkEntry, 0, len(dirEntries))
	for _, de := range dirEntries {
		name := de.Name()
		if strings.HasPrefix(name, tempPrefix) || !strings.HasPrefix(name, partial) {
			continue
		}
		e := walkEntry{sortKey: name, name: name, isDir: de.IsDir()}
		if e.isDir {
			e.sortKey += "/"
		} else if !de.Type().IsRegular() {
			continue // symlinks, sockets, ...: not objects
		}
		entries = append(entries, e)
	}
	slices.SortFunc(entries, func(a, b walkEntry) int { return strings.Compare(a.sortKey, b.sortKey) })
	for _, e := range entries {
		key := dirKey + e.name
		if e.isDir {
			if !b.walk(ctx, key+"/", "", yield) {
				return false
			}
			continue
		}
		info, err := os.Lstat(filepath.Join(dir, e.name))
		if err != nil {
			if isNotExist(err) {
				continue // deleted while listing
			}
			if !yield(base.ObjectInfo{}, fmt.Errorf("list %s in %s: %w", key, b, permanentIfDenied(err))) {
				return false
			}
			continue
		}
		if !yield(base.ObjectInfo{Key: key, Size: info.Size(), Modified: info.ModTime()}, nil) {
			return false
		}
	}
	return true
}

func (b *Bucket) opError(op, key string, err error) error {
	if isNotExist(err) {
		if rootErr := b.checkRoot(); rootErr != nil {
			return fmt.Errorf("%s %s in %s: %w", op, key, b, rootErr)
		}
		return fmt.Errorf("%s %s in %s: %w", op, key, b, base.ErrNotExist)
	}
	return fmt.Errorf("%s %s in %s: %w", op, key, b, permanentIfDenied(err))
}

// writeError never reports ErrNotExist: a missing folder while writing is
// not a missing object.
func (b *Bucket) writeError(op, key string, err error) error {
	return fmt.Errorf("%s %s in %s: %w", op, key, b, permanentIfDenied(err))
}

// isNotExist also treats ENOTDIR as missing: "a/b" does not exist when "a" is
// a file.
func isNotExist(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR)
}

// permanentIfDenied marks errors no retry can fix: permissions, a read-only
// filesystem, a full disk, a name taken by a folder, or a file in the way.
func permanentIfDenied(err error) error {
	switch {
	case errors.Is(err, syscall.ENOSPC), errors.Is(err, syscall.EDQUOT):
		return fmt.Errorf("%w: %w: %w", err, base.ErrNoSpace, base.ErrPermanent)
	case errors.Is(err, fs.ErrPermission),
		errors.Is(err, syscall.EROFS),
		errors.Is(err, syscall.EISDIR),
		errors.Is(err, syscall.ENOTDIR),
		errors.Is(err, syscall.EEXIST):
		return fmt.Errorf("%w: %w", err, base.ErrPermanent)
	}
	return err
}

// ctxReader stops a long copy once ctx is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
