package main

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/otelcol-chroma/otelcol-chroma/internal/chromadb"
	"github.com/otelcol-chroma/otelcol-chroma/internal/snapshot"
	"github.com/otelcol-chroma/otelcol-chroma/internal/snapshotconfig"
)

func newSnapshotRestoreCommand(f *snapshotFlags) *cobra.Command {
	var target string
	var force, quickCheck, fullCheck, noCheck bool
	cmd := &cobra.Command{
		Use:   "restore [ID|latest] --to DIR",
		Short: "Restore a snapshot into a directory Chroma can open",
		Long: `Restore a snapshot (default: latest) into DIR.

Stop Chroma first when restoring over its persist directory: a DIR in which a
process of this machine has a file open is refused, even with --force. DIR
must be empty or missing unless --force is given. The snapshot is written to a temporary
folder beside DIR, every block checked against the manifest, the database
checked (record counts against the manifest, and PRAGMA quick_check when the
snapshot's database passed PRAGMA integrity_check when it was taken: the
restored file is byte for byte the one that passed; integrity_check for
older snapshots, or with --full-check), and only then renamed into place; with --force
the old contents are removed after that. When DIR is a mount point, the
temporary folder is inside it and DIR's entries are swapped (lost+found
stays); if that swap is interrupted, run the restore again before starting
Chroma: it first puts DIR back to all old or all new contents.

A snapshot taken from a damaged database (marked in list and status) is
refused; --no-check restores it exactly as captured, for when nothing better
is left.`,
		Args: snapshotIDArgs("--to"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if target == "" {
				return usageErrorf("restore needs --to DIR")
			}
			if (snapshot.RestoreOptions{NoCheck: noCheck, QuickCheck: quickCheck, FullCheck: fullCheck}).ChoosesTwoChecks() {
				return usageErrorf("--no-check, --quick-check and --full-check choose the database check: give one of them")
			}
			ctx, stop := signalContext(cmd.Context())
			defer stop()
			repo, s, _, err := f.openForReading(ctx)
			if err != nil {
				return err
			}
			progress := newProgressPrinter(cmd.ErrOrStderr())
			res, err := repo.Restore(ctx, idOrLatest(args), snapshot.RestoreOptions{
				Target:      target,
				Force:       force,
				QuickCheck:  quickCheck,
				FullCheck:   fullCheck,
				NoCheck:     noCheck,
				Protect:     f.restoreInputs(s),
				Concurrency: s.Concurrency,
				Progress:    progress,
				Logger:      f.logger(cmd.ErrOrStderr()),
			})
			progress.Done()
			if errors.Is(err, snapshot.ErrUnsafeTarget) {
				return usageError{err}
			}
			if errors.Is(err, snapshot.ErrRestoreCheck) {
				return fmt.Errorf("%w\nthe snapshot's database fails its check: restore an older snapshot, or pass --no-check to get this one's bytes exactly as captured", err)
			}
			if err != nil {
				return err
			}
			checked := fmt.Sprintf("every block matched the manifest; record counts and PRAGMA %s passed", res.CheckPragma)
			if res.CheckPragma == chromadb.PragmaQuickCheck && !quickCheck {
				checked += " (the database passed integrity_check when the snapshot was taken)"
			}
			if res.CheckPragma == "" {
				checked = "every block matched the manifest; the database was NOT checked (--no-check)"
			}
			fmt.Fprintf(cmd.OutOrStdout(), "restored snapshot %s into %s: %d files, %s, %d collections, %d records; %s (%s)\n",
				res.ID, res.Target, res.Files, humanBytes(res.Bytes), res.Collections, res.Records, checked, res.Duration.Round(time.Millisecond))
			return nil
		},
	}
	cmd.Flags().StringVar(&target, "to", "", "directory to restore into (required)")
	cmd.Flags().BoolVar(&force, "force", false, "replace a non-empty directory")
	cmd.Flags().BoolVar(&noCheck, "no-check", false, "skip the restored database's checks: restores a snapshot of a damaged database byte-exact (every block is still checked against the manifest); Chroma may fail on it")
	cmd.Flags().BoolVar(&quickCheck, "quick-check", false, "check the restored database with PRAGMA quick_check also when the snapshot was not taken with integrity_check (older versions; several times faster on a large database; every byte is checked against the manifest either way)")
	cmd.Flags().BoolVar(&fullCheck, "full-check", false, "run PRAGMA integrity_check on the restored database even though the snapshot's database passed it when it was taken")
	return cmd
}

// restoreInputs are the local files a restore reads (key files, config
// files): a restore target must not replace them.
func (f *snapshotFlags) restoreInputs(s snapshotconfig.Settings) []string {
	paths := []string{s.Encryption.ReaderKeyFile, s.Encryption.WriterKeyFile}
	for _, c := range f.configs {
		if p, ok := strings.CutPrefix(c, "file:"); ok {
			paths = append(paths, p)
		} else if !strings.Contains(c, ":") {
			paths = append(paths, c)
		}
	}
	return paths
}
