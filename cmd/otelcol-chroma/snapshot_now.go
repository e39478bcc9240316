package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"
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
			repo, err := s.OpenRepository(ctx, keys)
			if err != nil {
				return err
			}
			progress := newProgressPrinter(cmd.ErrOrStderr())
			opts := s.SnapshotOptions()
			opts.ToolVersion = f.version
			opts.Progress = progress
			opts.Logger = f.logger(cmd.ErrOrStderr())
			m, err := repo.Snapshot(ctx, opts)
			progress.Done()
			if err != nil {
				return fmt.Errorf("snapshot of %s: %w", s.PersistDirectory, err)
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "snapshot %s: %d collections, %d records, %s in %d files; added %s (%d new blocks, %d reused) in %s; writer stall %s\n",
				m.ID, len(m.Chroma.Collections), m.Records(), humanBytes(m.Stats.LogicalBytes), len(m.Files),
				humanBytes(m.Stats.AddedBytes), m.Stats.BlocksNew, m.Stats.BlocksReused,
				m.Timings.Total.Round(time.Millisecond), m.Timings.WriterStall.Round(time.Microsecond))
			return nil
		},
	}
}
