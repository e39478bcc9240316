package main

import (
	"encoding/json"
	"errors"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/otelcol-chroma/otelcol-chroma/internal/chromatest"
	"github.com/otelcol-chroma/otelcol-chroma/internal/testutil"
	"github.com/otelcol-chroma/otelcol-chroma/internal/testutil/versitygw"
)

// requireEmptyDir fails unless dir exists and holds nothing.
func requireEmptyDir(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) > 0 {
		t.Errorf("%s holds %d entries (first: %s), want none", dir, len(entries), entries[0].Name())
	}
}

// TestSnapshotConfigTyposAreRejected: a typo in the snapshot settings, at any
// depth, stops the binary with exit code 2 and names the key, before
// anything is written (a typo in `encryption` must never give an
// unencrypted snapshot).
func TestSnapshotConfigTyposAreRejected(t *testing.T) {
	bin := binary(t)
	env := cliEnv(t)
	dir := t.TempDir()
	persist := chromatest.CopyDemo(t)
	writer, reader := filepath.Join(dir, "writer.key"), filepath.Join(dir, "reader.key")
	requireCLI(t, bin, env, "snapshot", "keygen", "--writer-key", writer, "--reader-key", reader)
	cases := []struct {
		name, block, key string
	}{
		{"misspelt block", "encrypton:\n      writer_key_file: " + writer, `"encrypton"`},
		{"misspelt key in encryption", "encryption:\n      writer_key: " + writer, `"encryption::writer_key"`},
		{"misspelt key in bucket", "encryption:\n      writer_key_file: " + writer + "\n    bucket:\n      region: eu-west-1", `"bucket::region"`},
		{"misspelt top-level key", "encryption:\n      writer_key_file: " + writer + "\n    persist_dir: /data", `"persist_dir"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			bucket := t.TempDir()
			cfg := filepath.Join(t.TempDir(), "config.yaml")
			yaml := "extensions:\n  snapshot:\n    persist_directory: " + persist + "\n    " + c.block + "\n"
			if err := os.WriteFile(cfg, []byte(yaml), 0o600); err != nil {
				t.Fatal(err)
			}
			res := runCLI(t, bin, env, "snapshot", "now", "--config", cfg, "--bucket", "file://"+bucket)
			requireFailure(t, res, exitUsage, c.key, "unknown key", "extensions::snapshot")
			requireEmptyDir(t, bucket)
			res = runCLI(t, bin, env, "snapshot", "list", "--config", cfg, "--bucket", "file://"+bucket)
			requireFailure(t, res, exitUsage, c.key)
		})
	}
}

// requireMissing fails if path exists.
func requireMissing(t *testing.T, path string) {
	t.Helper()
	if _, err := os.Lstat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("%s exists (stat: %v), want it never created", path, err)
	}
}

// TestSnapshotMissingBucketIsNoRepository: a mistyped or unmounted bucket
// path is not an empty repository. Read commands fail with "no snapshot
// repository at ..." and create nothing; `now` creates a repository only in
// a folder (or S3 bucket) that already exists.
func TestSnapshotMissingBucketIsNoRepository(t *testing.T) {
	bin := binary(t)
	env := cliEnv(t)
	persist := chromatest.CopyDemo(t)
	base := t.TempDir()
	missing := filepath.Join(base, "unmounted", "bucket")
	empty := t.TempDir()
	target := filepath.Join(base, "restored")
	reads := [][]string{
		{"list"}, {"list", "--json"}, {"status"}, {"status", "--json"}, {"verify"}, {"verify", "latest", "--read-data"},
		{"restore", "--to", target},
	}
	for _, root := range []string{missing, empty} {
		for _, args := range reads {
			t.Run(strings.Join(args, " ")+" "+filepath.Base(root), func(t *testing.T) {
				res := runCLI(t, bin, env, append(append([]string{"snapshot"}, args...), "--bucket", "file://"+root)...)
				requireFailure(t, res, exitFailed, "no snapshot repository at", root)
				requireMissing(t, filepath.Join(base, "unmounted"))
				requireMissing(t, target)
				requireEmptyDir(t, empty)
			})
		}
	}
	res := runCLI(t, bin, env, "snapshot", "now", "--bucket", "file://"+missing, "--persist-directory", persist)
	requireFailure(t, res, exitFailed, missing, "does not exist", "mounted")
	requireMissing(t, filepath.Join(base, "unmounted"))

	// An existing folder is where a repository may start.
	id := cliSnapshotNow(t, bin, env, "--bucket", "file://"+empty, "--persist-directory", persist)
	if list := cliList(t, bin, env, "--bucket", "file://"+empty); len(list) != 1 || list[0].ID != id {
		t.Fatalf("list after the first snapshot: %+v, want %s", list, id)
	}

	gw := versitygw.Start(t)
	s3env := s3Env(t, gw)
	res = runCLI(t, bin, s3env, "snapshot", "list", "--bucket", gw.URLWithPrefix("nothing/here"))
	requireFailure(t, res, exitFailed, "no snapshot repository at")
	noBucket := strings.Replace(gw.URL(), gw.Bucket, "no-such-bucket", 1)
	for _, args := range [][]string{{"list"}, {"now", "--persist-directory", persist}} {
		res = runCLI(t, bin, s3env, append(append([]string{"snapshot"}, args...), "--bucket", noBucket)...)
		requireFailure(t, res, exitFailed, "no-such-bucket does not exist")
	}
	if _, err := os.Stat(filepath.Join(gw.DataDir, "no-such-bucket")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("an S3 bucket was created (stat: %v)", err)
	}
}

// TestSnapshotWrongCommandLineExits2: a malformed snapshot id or bucket URL,
// or a negative prune grace period, is a wrong command line (exit code 2), refused before the bucket is used;
// a broken escape in an s3:// query is never silently dropped.
func TestSnapshotWrongCommandLineExits2(t *testing.T) {
	bin := binary(t)
	env := cliEnv(t)
	root := t.TempDir()
	bucket := []string{"--bucket", "file://" + root}
	cases := []struct {
		args []string
		want []string
	}{
		{append([]string{"verify", "20260301-nope"}, bucket...), []string{"invalid snapshot id", "20260301-nope"}},
		{append([]string{"restore", "../../etc", "--to", filepath.Join(root, "r")}, bucket...), []string{"invalid snapshot id"}},
		{append([]string{"verify", "20260301T100000Z-3FA9C2D1"}, bucket...), []string{"invalid snapshot id"}},
		{[]string{"list", "--bucket", "s3://bkt/p?endpoint=http%3A%2F%2F127.0.0.1%3A7070%"}, []string{`parameter "endpoint"`, "escaping"}},
		{[]string{"list", "--bucket", "s3://bkt/p?region=eu-west-1&endpoint"}, []string{`parameter "endpoint" has no value`}},
		{[]string{"list", "--bucket", "s3://bkt/p?regoin=eu-west-1"}, []string{`unknown parameter "regoin"`}},
		{[]string{"list", "--bucket", "s3://bkt/%zz"}, []string{"malformed bucket URL"}},
		{[]string{"list", "--bucket", "ftp://bkt/p"}, []string{`unsupported scheme "ftp"`, "gs://", "azblob://"}},
		{[]string{"list", "--bucket", "gs://bkt/p?chunk_sise=1"}, []string{`unknown parameter "chunk_sise"`}},
		{[]string{"list", "--bucket", "gs://bkt:4443/p"}, []string{"the host part is the bucket name"}},
		{[]string{"status", "--bucket", "file://backups/chroma"}, []string{"absolute path"}},
		{append([]string{"prune", "--grace-period", "-1h"}, bucket...), []string{"--grace-period -1h0m0s is negative"}},
	}
	for _, c := range cases {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			res := runCLI(t, bin, env, append([]string{"snapshot"}, c.args...)...)
			requireFailure(t, res, exitUsage, c.want...)
			requireEmptyDir(t, root)
		})
	}
	// The same URL from a config file.
	cfg := filepath.Join(t.TempDir(), "config.yaml")
	yaml := "extensions:\n  snapshot:\n    bucket:\n      url: s3://bkt/p?endpoint=http%3A%2F%2F127.0.0.1%3A7070%\n"
	if err := os.WriteFile(cfg, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	requireFailure(t, runCLI(t, bin, env, "snapshot", "list", "--config", cfg), exitUsage, `parameter "endpoint"`)
}

// TestSnapshotFullBucketAdvisesSpace: a snapshot into a full bucket fails
// with advice about space, not about credentials, on a folder and on S3.
func TestSnapshotFullBucketAdvisesSpace(t *testing.T) {
	bin := binary(t)
	persist := chromatest.CopyDemo(t)
	// 4 MiB that do not compress: the snapshot cannot fit in 1 MiB.
	newSegmentPadding(t, persist, 2<<20, 2<<20).fill(t, 1)
	check := func(t *testing.T, res cliResult) {
		t.Helper()
		requireFailure(t, res, exitFailed, "no snapshot was written", "full", "free space")
		if strings.Contains(res.stderr, "credentials, name") {
			t.Errorf("a full bucket is blamed on credentials:\n%s", res)
		}
	}
	t.Run("folder", func(t *testing.T) {
		root := t.TempDir()
		testutil.MountTmpfs(t, root, 1)
		check(t, runCLI(t, bin, cliEnv(t), "snapshot", "now", "--bucket", "file://"+root, "--persist-directory", persist))
	})
	t.Run("s3", func(t *testing.T) {
		gw := versitygw.Start(t)
		testutil.MountTmpfs(t, filepath.Join(gw.DataDir, gw.Bucket), 1)
		t.Cleanup(gw.Stop) // runs before the unmount
		check(t, runCLI(t, bin, s3Env(t, gw), "snapshot", "now", "--bucket", gw.URLWithPrefix("prod"), "--persist-directory", persist))
	})
}

// TestSnapshotReadOnlyBucketSaysSoOnce: a snapshot into a bucket that can
// be read but not written (a folder bucket remounted read-only in place)
// fails naming the cause, and neither its error nor the warning about its
// status record repeats itself.
func TestSnapshotReadOnlyBucketSaysSoOnce(t *testing.T) {
	bin := binary(t)
	env := cliEnv(t)
	persist := chromatest.CopyDemo(t)
	root := filepath.Join(t.TempDir(), "bucket")
	if err := os.Mkdir(root, 0o700); err != nil {
		t.Fatal(err)
	}
	requireCLI(t, bin, env, "snapshot", "now", "--bucket", "file://"+root, "--persist-directory", persist)
	testutil.BindMountReadOnly(t, root, root)
	res := runCLI(t, bin, env, "snapshot", "now", "--bucket", "file://"+root, "--persist-directory", persist)
	requireFailure(t, res, exitFailed, "read-only file system")
	for line := range strings.Lines(res.stderr) {
		if strings.HasPrefix(line, "Error:") && strings.Count(line, persist) > 1 {
			t.Errorf("the error names the persist directory more than once: %s", line)
		}
		if strings.Count(line, "write status/attempts/") > 1 {
			t.Errorf("the status record's warning repeats itself: %s", line)
		}
	}
}

// TestSnapshotJunkManifestInTheFuture: a junk object planted as a manifest
// dated 9999 neither moves the ids of later snapshots (they come from the
// clock) nor becomes "latest"; list shows it as DAMAGED (exit 1) and status
// never shows a negative age.
func TestSnapshotJunkManifestInTheFuture(t *testing.T) {
	bin := binary(t)
	env := cliEnv(t)
	persist := chromatest.CopyDemo(t)
	root := t.TempDir()
	bucket := []string{"--bucket", "file://" + root}
	first := cliSnapshotNow(t, bin, env, append([]string{"--persist-directory", persist}, bucket...)...)
	junk := "99991231T235959Z-00000000"
	if err := os.WriteFile(objectPath(root, manifestObjectKey(junk)), []byte("junk"), 0o644); err != nil {
		t.Fatal(err)
	}
	year := time.Now().UTC().Format("2006")
	second := cliSnapshotNow(t, bin, env, append([]string{"--persist-directory", persist}, bucket...)...)
	if !strings.HasPrefix(second, year) || second <= first {
		t.Fatalf("snapshot id %s after %s: want one from the clock (year %s)", second, first, year)
	}

	list := cliListDamaged(t, bin, env, bucket...)
	if len(list) != 3 || list[0].ID != junk || !list[0].Damaged || list[1].ID != second || list[1].Damaged || list[2].ID != first {
		t.Fatalf("list: %+v, want the junk manifest DAMAGED, then %s and %s", list, second, first)
	}
	res := requireCLI(t, bin, env, append([]string{"snapshot", "status"}, bucket...)...)
	if !strings.Contains(res.stdout, "newest:           "+second) || !strings.Contains(res.stdout, "DAMAGED:") ||
		regexp.MustCompile(`\(-\d`).MatchString(res.stdout) {
		t.Errorf("status does not name %s as newest with the damaged one apart:\n%s", second, res)
	}
	var st statusReport
	res = requireCLI(t, bin, env, append([]string{"snapshot", "status", "--json"}, bucket...)...)
	if err := json.Unmarshal([]byte(res.stdout), &st); err != nil {
		t.Fatal(err)
	}
	if st.Newest == nil || st.Newest.ID != second || st.NewestAge == nil || *st.NewestAge < 0 || len(st.Damaged) != 1 || st.Damaged[0].ID != junk {
		t.Errorf("status --json: %s", res.stdout)
	}

	target := filepath.Join(t.TempDir(), "restored")
	res = requireCLI(t, bin, env, append([]string{"snapshot", "restore", "latest", "--to", target}, bucket...)...)
	if !strings.Contains(res.stdout, second) || !strings.Contains(res.stderr, junk) {
		t.Errorf("restore latest: want %s restored with a warning naming %s:\n%s", second, junk, res)
	}
	res = requireCLI(t, bin, env, append([]string{"snapshot", "verify", "latest"}, bucket...)...)
	if !strings.Contains(res.stdout, second) || !strings.Contains(res.stderr, junk) {
		t.Errorf("verify latest: want %s verified with a warning naming %s:\n%s", second, junk, res)
	}
}

// TestRestoreNeverReplacesTheBucketOrKeys: `restore --force` into a folder
// that is, holds or lies inside the file bucket, or holds the key file the
// restore reads (also through a symbolic link), is a wrong command line
// (exit 2) that leaves the bucket and the key untouched; replacing them would
// destroy every snapshot or the means to read them.
func TestRestoreNeverReplacesTheBucketOrKeys(t *testing.T) {
	bin := binary(t)
	env := cliEnv(t)
	persist := chromatest.CopyDemo(t)
	base := t.TempDir()
	parent := filepath.Join(base, "data")
	root := filepath.Join(parent, "bucket")
	keys := filepath.Join(base, "keys")
	for _, d := range []string{root, keys} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	writer, reader := filepath.Join(keys, "writer.key"), filepath.Join(keys, "reader.key")
	requireCLI(t, bin, env, "snapshot", "keygen", "--writer-key", writer, "--reader-key", reader)
	bucket := []string{"--bucket", "file://" + root, "--reader-key", reader}
	cliSnapshotNow(t, bin, env, "--bucket", "file://"+root, "--persist-directory", persist, "--writer-key", writer)
	link := filepath.Join(base, "link")
	if err := os.Symlink(parent, link); err != nil {
		t.Fatal(err)
	}
	before := treeDigest(t, base)
	for _, target := range []string{parent, root, filepath.Join(root, "restored"), link, keys} {
		t.Run(filepath.Base(target), func(t *testing.T) {
			res := runCLI(t, bin, env, append([]string{"snapshot", "restore", "latest", "--to", target, "--force"}, bucket...)...)
			requireFailure(t, res, exitUsage, "unsafe restore target", target)
			if after := treeDigest(t, base); !maps.Equal(before, after) {
				t.Fatalf("the refused restore changed files below %s: %d files before, %d after", base, len(before), len(after))
			}
		})
	}
	// Beside the bucket, the same restore works.
	requireCLI(t, bin, env, append([]string{"snapshot", "restore", "latest", "--to", filepath.Join(parent, "chroma")}, bucket...)...)
}

// TestSnapshotLatestFromAClockSetAhead: a snapshot taken while the clock was
// far ahead sorts after every snapshot taken once it was set back, so
// `restore latest` and `verify latest` would silently pick older data. They
// refuse and say why; the snapshots named by id still restore.
func TestSnapshotLatestFromAClockSetAhead(t *testing.T) {
	bin := binary(t)
	env := cliEnv(t)
	persist := chromatest.CopyDemo(t)
	bucket := []string{"--bucket", "file://" + t.TempDir()}
	ahead := cliSnapshotNow(t, bin, env, append([]string{"--persist-directory", persist, "--time", "2099-01-01T00:00:00Z"}, bucket...)...)
	taken := cliSnapshotNow(t, bin, env, append([]string{"--persist-directory", persist}, bucket...)...)
	target := filepath.Join(t.TempDir(), "restored")
	for _, args := range [][]string{{"restore", "latest", "--to", target}, {"verify", "latest"}} {
		res := runCLI(t, bin, env, append(append([]string{"snapshot"}, args...), bucket...)...)
		requireFailure(t, res, exitFailed, ahead, "ahead of this machine's clock", "by its id")
		requireMissing(t, target)
	}
	requireCLI(t, bin, env, append([]string{"snapshot", "restore", taken, "--to", target}, bucket...)...)
}
