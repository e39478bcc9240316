package main

import (
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/otelcol-chroma/otelcol-chroma/internal/snapshot"
)

func newSnapshotNowCommand(f *snapshotFlags) *cobra.Command {
	var at string
	cmd := &cobra.Command{
		Use:   "now",
		Short: "Take a snapshot of the persist directory now",
		Long: `Take a consistent snapshot of a live Chroma persist directory now.

Chroma keeps running: its writers wait only while chroma.sqlite3 is copied
(the "writer stall" in the summary). The snapshot exists once its manifest is
written, after every block; an interrupted run leaves nothing that lists.

--time records another time than now, as restic's backup --time does: the
snapshot's id and time, which retention goes by.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signalContext(cmd.Context())
			defer stop()
			tm, err := parseSnapshotTime(at)
			if err != nil {
				return err
			}
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
				return usageIfBadURL(err)
			}
			progress := newProgressPrinter(cmd.ErrOrStderr())
			opts := s.SnapshotOptions()
			opts.ToolVersion = f.version
			opts.Time = tm
			opts.Progress = progress
			opts.Logger = f.logger(cmd.ErrOrStderr())
			m, err := repo.Snapshot(ctx, opts)
			progress.Done()
			if m != nil {
				// Also when the source was damaged: the snapshot was stored.
				printSnapshotLine(cmd.OutOrStdout(), m)
			}
			// The engine's error names the persist directory where it matters.
			return err
		},
	}
	cmd.Flags().StringVar(&at, "time", "", `record this time instead of now: "2006-01-02 15:04:05" (local time, as restic's --time) or RFC 3339`)
	return cmd
}

// parseSnapshotTime reads --time: restic's form in the local time zone, or
// RFC 3339. Empty means now (the zero time).
func parseSnapshotTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.ParseInLocation(time.DateTime, s, time.Local); err == nil {
		return t, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, usageErrorf(`--time %q: want "2006-01-02 15:04:05" (local time) or RFC 3339 such as 2006-01-02T15:04:05Z`, s)
	}
	return t, nil
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
