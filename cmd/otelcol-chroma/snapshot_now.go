package main

import (
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/otelcol-chroma/otelcol-chroma/internal/snapshot"
)

func newSnapshotNowCommand(f *snapshotFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "now",
		Short: "Take a snapshot of the persist directory now",
		Long: `Take a consistent snapshot of a live Chroma persist directory now.

Chroma keeps running: its writers wait only while chroma.sqlite3 is copied
(the "writer stall" in the summary). The snapshot exists once its manifest is
written, after every block; an interrupted run leaves nothing that lists.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signalContext(cmd.Context())
			defer stop()
			s, err := f.settings(ctx)
			if err != nil {
				return err
			}
			if s.PersistDirectory == "" {
				return usageErrorf("no persist directory: pass --persist-directory, or --config with extensions::snapshot::persist_directory")
			}
			keys, err := s.WriterKeys()
			if err != nil {
				return err
			}
			repo, err := f.openRepository(ctx, &s, keys)
			if err != nil {
				return err
			}
			progress := newProgressPrinter(cmd.ErrOrStderr())
			m, err := repo.Snapshot(ctx, snapshot.SnapshotOptions{
				PersistDir:  s.PersistDirectory,
				ScratchDir:  s.ScratchDirectory,
				Concurrency: s.Concurrency,
				Instance:    s.Instance,
				ToolVersion: f.version,
				Progress:    progress,
				Logger:      f.logger(cmd.ErrOrStderr()),
			})
			progress.Done()
			if m != nil {
				// Also when the source was damaged: the snapshot was stored.
				printSnapshotLine(cmd.OutOrStdout(), m)
			}
			if err != nil {
				return fmt.Errorf("snapshot of %s: %w", s.PersistDirectory, err)
			}
			return nil
		},
	}
}

func printSnapshotLine(out io.Writer, m *snapshot.Manifest) {
	damaged := ""
	if m.SourceDamaged() {
		damaged = " [SOURCE DAMAGED: stored as captured, see below]"
	}
	fmt.Fprintf(out, "snapshot %s: %d collections, %d records, %s in %d files; added %s (%d new blocks, %d reused) in %s; writer stall %s%s\n",
		m.ID, len(m.Chroma.Collections), m.Records(), humanBytes(m.Stats.LogicalBytes), len(m.Files),
		humanBytes(m.Stats.AddedBytes), m.Stats.BlocksNew, m.Stats.BlocksReused,
		m.Timings.Total.Round(time.Millisecond), m.Timings.WriterStall.Round(time.Microsecond), damaged)
}
