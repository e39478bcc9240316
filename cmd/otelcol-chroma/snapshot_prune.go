package main

import (
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/otelcol-chroma/otelcol-chroma/internal/snapshot"
)

// pruneReport is `snapshot prune --json`.
type pruneReport struct {
	DryRun           bool    `json:"dry_run"`
	Snapshots        int     `json:"snapshots"`
	BlocksReferenced int     `json:"blocks_referenced"`
	BlocksUnused     int     `json:"blocks_unused"`
	BlocksYoung      int     `json:"blocks_young"`
	BlocksDeleted    int     `json:"blocks_deleted"`
	BytesDeleted     int64   `json:"bytes_deleted"`
	Leftovers        int     `json:"leftovers_deleted"`
	LeftoverBytes    int64   `json:"leftover_bytes_deleted"`
	GracePeriod      float64 `json:"grace_period_seconds"`
}

func newSnapshotPruneCommand(f *snapshotFlags) *cobra.Command {
	var (
		dryRun bool
		asJSON bool
		grace  time.Duration
	)
	cmd := &cobra.Command{
		Use:   "prune [--dry-run]",
		Short: "Delete the blocks no snapshot needs, and leftovers of interrupted uploads",
		Long: `Delete the blocks that no remaining snapshot references (after forget) and
what interrupted uploads left behind. Blocks younger than --grace-period stay.

Prune takes the bucket's exclusive lock: it waits for running snapshots, and
snapshots wait for it. It reads every manifest (in an encrypted repository
with the writer key, every snapshot index); one it cannot read stops it
before anything is deleted.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if grace < 0 {
				return usageErrorf("--grace-period %s is negative: give 0 (no grace period) or more, e.g. 1h", grace)
			}
			ctx, stop := signalContext(cmd.Context())
			defer stop()
			repo, _, _, err := f.openForReading(ctx)
			if err != nil {
				return err
			}
			if grace == 0 {
				grace = -1 // the flag's 0 means none; the engine's zero means the default
			}
			progress := newProgressPrinter(cmd.ErrOrStderr())
			progress.countsBlocks = true
			res, err := repo.Prune(ctx, snapshot.PruneOptions{DryRun: dryRun, GracePeriod: grace,
				Progress: progress, Logger: f.logger(cmd.ErrOrStderr())})
			progress.Done()
			if err != nil {
				return err
			}
			rep := pruneReport{DryRun: dryRun, Snapshots: res.Snapshots, BlocksReferenced: res.BlocksReferenced,
				BlocksUnused: res.BlocksUnused, BlocksYoung: res.BlocksYoung, BlocksDeleted: res.BlocksDeleted,
				BytesDeleted: res.BytesDeleted, Leftovers: res.Leftovers, LeftoverBytes: res.LeftoverBytes,
				GracePeriod: res.GracePeriod.Seconds()}
			if asJSON {
				return writeJSON(cmd.OutOrStdout(), rep)
			}
			writePruneText(cmd.OutOrStdout(), rep, res.GracePeriod)
			return nil
		},
	}
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "count what would be deleted; delete nothing")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	cmd.Flags().DurationVar(&grace, "grace-period", snapshot.DefaultPruneGrace, "keep unreferenced blocks younger than this (0: none)")
	return cmd
}

func writePruneText(w io.Writer, rep pruneReport, grace time.Duration) {
	verb := "deleted"
	if rep.DryRun {
		verb = "would delete"
	}
	fmt.Fprintf(w, "%d snapshots reference %d blocks; %d blocks are unused\n", rep.Snapshots, rep.BlocksReferenced, rep.BlocksUnused)
	fmt.Fprintf(w, "%s %d blocks (%s); kept %d younger than %s\n", verb, rep.BlocksDeleted, humanBytes(rep.BytesDeleted), rep.BlocksYoung, grace)
	if rep.Leftovers > 0 {
		fmt.Fprintf(w, "%s %d leftovers of interrupted uploads (%s)\n", verb, rep.Leftovers, humanBytes(rep.LeftoverBytes))
	}
}
