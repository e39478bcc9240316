package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
	"go.opentelemetry.io/collector/confmap"

	"github.com/otelcol-chroma/otelcol-chroma/internal/snapshot"
	"github.com/otelcol-chroma/otelcol-chroma/internal/snapshotconfig"
	"github.com/otelcol-chroma/otelcol-chroma/internal/storage"
)

// Exit codes of the operator subcommands.
const (
	exitFailed = 1 // the operation failed (see the message)
	exitUsage  = 2 // the command line was wrong; nothing was done
)

// setMemoryLimit bounds Go memory for a snapshot or restore with this many
// blocks in flight. Each holds a few block-sized buffers; without a soft limit
// the garbage collector lets the heap grow to twice what is live. GOMEMLIMIT
// overrides it.
func setMemoryLimit(concurrency int) {
	if os.Getenv("GOMEMLIMIT") != "" {
		return
	}
	if concurrency <= 0 {
		concurrency = max(4, 2*runtime.GOMAXPROCS(0))
	}
	debug.SetMemoryLimit(int64(24<<20 + concurrency*(4<<20)))
}

// usageError marks a wrong command line: exit code 2.
type usageError struct{ error }

func (e usageError) Unwrap() error { return e.error }

func usageErrorf(format string, args ...any) error { return usageError{fmt.Errorf(format, args...)} }

// exitCode maps an error returned by the command to the process exit code.
func exitCode(err error) int {
	if errors.As(err, new(usageError)) {
		return exitUsage
	}
	return exitFailed
}

// snapshotFlags are the settings every snapshot subcommand shares: a collector
// config to read them from, and flags that override it.
type snapshotFlags struct {
	providers []confmap.ProviderFactory
	version   string // recorded in snapshot manifests

	configs     []string
	extension   string
	bucket      string
	persistDir  string
	writerKey   string
	readerKey   string
	scratchDir  string
	concurrency int
	instance    string
	verbose     bool
}

func newSnapshotCommand(providers []confmap.ProviderFactory, version string) *cobra.Command {
	f := &snapshotFlags{providers: providers, version: version}
	cmd := &cobra.Command{
		Use:   "snapshot",
		Short: "Take, list, verify, restore, forget and prune snapshots of a Chroma persist directory",
		Long: `Take, list, verify and restore snapshots of a Chroma persist directory, and
forget and prune them by a retention policy.

Settings come from the snapshot settings of a collector config (--config, under
extensions: snapshot) and from flags, which override them. A restore on a fresh
machine needs only the binary, the bucket URL and the reader key:

  otelcol-chroma snapshot restore latest --bucket s3://bucket/prefix \
      --reader-key reader.key --to /data

S3 credentials come from bucket::access_key_id/secret_access_key in the
config, or from the AWS SDK's default chain (AWS_ACCESS_KEY_ID,
AWS_SECRET_ACCESS_KEY, shared config, IRSA, instance roles).
GCS (gs://bucket/prefix) credentials come from bucket::credentials_file, or
from application default credentials (GOOGLE_APPLICATION_CREDENTIALS,
workload identity on GKE). Azure (azblob://account/container/prefix)
credentials come from bucket::azure_account_key or azure_sas_token, or from
Azure's default chain (AZURE_* variables, workload identity, managed
identity, Azure CLI).

Exit codes: 0 success, 1 failure, 2 wrong command line.`,
		SilenceUsage:  true,
		SilenceErrors: false,
		Args:          noArgs,

		RunE: func(cmd *cobra.Command, _ []string) error {
			return usageErrorf("missing subcommand: one of now, list, status, verify, restore, restore-collection, drill, forget, prune, unlock, keygen, repair-config")
		},
	}
	pf := cmd.PersistentFlags()
	pf.StringArrayVar(&f.configs, "config", nil, "collector config to read the snapshot settings from (repeatable; same URIs as the collector's --config)")
	pf.StringVar(&f.extension, "extension", "", "which extensions::snapshot/<name> to use when the config has several")
	pf.StringVar(&f.bucket, "bucket", "", "bucket URL: file:///path, s3://bucket/prefix?endpoint=...&region=...&path_style=true, gs://bucket/prefix or azblob://account/container/prefix")
	pf.StringVar(&f.persistDir, "persist-directory", "", "Chroma's persist directory")
	pf.StringVar(&f.writerKey, "writer-key", "", "writer key file (encrypts snapshots)")
	pf.StringVar(&f.readerKey, "reader-key", "", "reader key file (decrypts snapshots: restore, verify, list details)")
	pf.StringVar(&f.scratchDir, "scratch-directory", "", "folder for the temporary copy of chroma.sqlite3 (default: system temp dir)")
	pf.IntVar(&f.concurrency, "concurrency", 0, "blocks processed or transferred at once (default: 2 per CPU, at least 4)")
	pf.StringVar(&f.instance, "instance", "", "deployment name recorded in snapshots")
	pf.BoolVarP(&f.verbose, "verbose", "v", false, "log details")
	cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })

	cmd.AddCommand(
		newSnapshotNowCommand(f),
		newSnapshotListCommand(f),
		newSnapshotStatusCommand(f),
		newSnapshotVerifyCommand(f),
		newSnapshotRestoreCommand(f),
		newSnapshotDrillCommand(f),
		newSnapshotRestoreCollectionCommand(f),
		newSnapshotKeygenCommand(),
		newSnapshotForgetCommand(f),
		newSnapshotPruneCommand(f),
		newSnapshotUnlockCommand(f),
		newSnapshotRepairConfigCommand(f),
	)
	return cmd
}

func noArgs(_ *cobra.Command, args []string) error {
	if len(args) > 0 {
		return usageErrorf("unexpected argument %q", args[0])
	}
	return nil
}

// snapshotIDArgs accepts an optional snapshot id, "latest" by default.
// placeFlag is the flag that takes the command's other place (restore's
// --to DIR): an argument that looks like a path is refused with that form
// rather than as a malformed id. "" for a command without one.
func snapshotIDArgs(placeFlag string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		for i, a := range args {
			if snapshot.CheckID(a) != nil && looksLikePath(a) {
				return usageError{pathInsteadOfID(cmd, placeFlag, a, args[:i])}
			}
		}
		if len(args) > 1 {
			return usageErrorf("takes one snapshot id (or latest), got %d arguments", len(args))
		}
		if len(args) == 1 {
			if err := snapshot.CheckID(args[0]); err != nil {
				return usageError{err}
			}
		}
		return nil
	}
}

// looksLikePath reports whether a command-line argument names a place
// rather than a snapshot: it has a separator (a path or a URL), starts
// with "." or "~", or exists here.
func looksLikePath(arg string) bool {
	if strings.ContainsAny(arg, "/"+string(filepath.Separator)) || strings.HasPrefix(arg, ".") || strings.HasPrefix(arg, "~") {
		return true
	}
	_, err := os.Lstat(arg)
	return err == nil
}

// pathInsteadOfID says that arg is a place where a snapshot id goes, and
// shows the command with the place given to placeFlag (before: the
// arguments preceding it, such as an id); once placeFlag is given, only
// what the command takes.
func pathInsteadOfID(cmd *cobra.Command, placeFlag, arg string, before []string) error {
	what := "a path"
	if strings.Contains(arg, "://") {
		what = "a URL"
	}
	if placeFlag == "" || cmd.Flags().Changed(strings.TrimPrefix(placeFlag, "--")) {
		return fmt.Errorf("invalid snapshot id %q: it looks like %s; %s takes a snapshot id (see `snapshot list`) or latest", arg, what, cmd.Name())
	}
	id, which := "latest", " (or a snapshot id instead of latest: see `snapshot list`)"
	if len(before) == 1 && snapshot.CheckID(before[0]) == nil {
		id, which = before[0], ""
	}
	return fmt.Errorf("invalid snapshot id %q: it looks like %s; give it with %s: `otelcol-chroma snapshot %s %s %s %s`%s",
		arg, what, placeFlag, cmd.Name(), id, placeFlag, shellWord(arg), which)
}

// shellWord quotes s for a command line shown to copy, when it needs it.
func shellWord(s string) string {
	if strings.ContainsAny(s, " \t\n'\"$`\\;&|<>()*?[]#") {
		return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
	}
	return s
}

func idOrLatest(args []string) string {
	if len(args) == 1 {
		return args[0]
	}
	return "latest"
}

// settings resolves the snapshot settings: the config first, flags over it.
func (f *snapshotFlags) settings(ctx context.Context) (snapshotconfig.Settings, error) {
	var s snapshotconfig.Settings
	if len(f.configs) > 0 {
		var err error
		s, _, err = snapshotconfig.FromCollectorConfig(ctx, f.configs, f.providers, f.extension)
		if err != nil {
			return s, usageError{err}
		}
	} else if f.extension != "" {
		return s, usageErrorf("--extension needs --config")
	}
	override := func(dst *string, v string) {
		if v != "" {
			*dst = v
		}
	}
	override(&s.Bucket.URL, f.bucketURL())
	override(&s.PersistDirectory, f.persistDir)
	override(&s.Encryption.WriterKeyFile, f.writerKey)
	override(&s.Encryption.ReaderKeyFile, f.readerKey)
	override(&s.ScratchDirectory, f.scratchDir)
	override(&s.Instance, f.instance)
	if f.concurrency != 0 {
		s.Concurrency = f.concurrency
	}
	if s.Bucket.URL == "" {
		return s, usageErrorf("no bucket: pass --bucket URL, or --config with extensions::snapshot::bucket::url")
	}
	if err := s.Validate(); err != nil {
		return s, usageError{err}
	}
	setMemoryLimit(s.Concurrency)
	return s, nil
}

// bucketURL is --bucket, a relative folder made absolute: the settings
// accept only absolute folders (a configuration has no working directory
// to be relative to), the command line has one.
func (f *snapshotFlags) bucketURL() string {
	if f.bucket == "" || !storage.IsFolderPath(f.bucket) {
		return f.bucket
	}
	abs, err := filepath.Abs(f.bucket)
	if err != nil {
		return f.bucket
	}
	return abs
}

// openBucket opens the configured bucket; a malformed URL is a usage error.
func openBucket(ctx context.Context, s *snapshotconfig.Settings) (storage.Bucket, error) {
	bucket, err := s.OpenBucket(ctx)
	return bucket, usageIfBadURL(err)
}

// usageIfBadURL makes a malformed bucket URL a usage error (exit 2).
func usageIfBadURL(err error) error {
	if errors.Is(err, storage.ErrBadURL) {
		return usageError{err}
	}
	return err
}

// openForReading resolves the settings and opens the existing repository
// with the reader key (or, without one, whatever key is configured). It
// creates nothing: a bucket without a repository is an error.
func (f *snapshotFlags) openForReading(ctx context.Context) (*snapshot.Repository, snapshotconfig.Settings, snapshot.Keys, error) {
	s, err := f.settings(ctx)
	if err != nil {
		return nil, s, snapshot.Keys{}, err
	}
	keys, err := s.ReaderKeys()
	if err != nil {
		return nil, s, keys, err
	}
	repo, err := s.OpenExistingRepository(ctx, keys)
	return repo, s, keys, usageIfBadURL(err)
}

func (f *snapshotFlags) logger(w io.Writer) *slog.Logger {
	level := slog.LevelWarn
	if f.verbose {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level}))
}

// signalContext is cancelled by SIGINT or SIGTERM: the engine then stops
// cleanly, leaving no half-written snapshot.
func signalContext(parent context.Context) (context.Context, context.CancelFunc) {
	if parent == nil {
		parent = context.Background()
	}
	return signal.NotifyContext(parent, os.Interrupt, syscall.SIGTERM)
}
