package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/otelcol-chroma/otelcol-chroma/internal/snapshot"
)

// drillReport is `snapshot drill --json`.
type drillReport struct {
	*snapshot.DrillResult
	Passed bool `json:"passed"`
	// Cancelled: interrupted before it finished (Ctrl-C, SIGTERM); not a
	// failed drill, and nothing was recorded.
	Cancelled  bool   `json:"cancelled,omitempty"`
	ErrorClass string `json:"error_class,omitempty"`
	Error      string `json:"error,omitempty"`
}

func newSnapshotDrillCommand(f *snapshotFlags) *cobra.Command {
	var chromaCommand string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "drill [ID|latest] [--chroma-command PATH] [--scratch-directory DIR] [--json]",
		Short: "Prove that a snapshot restores: restore it into a scratch folder, check it, record the outcome",
		Long: `Run a restore drill on a snapshot (default: latest): restore it into a
scratch folder with every check of a restore (each block against the manifest,
PRAGMA integrity_check, record counts), then, with --chroma-command (or
drill::chroma_command), start that Chroma on the copy on a loopback port,
compare every collection's count through its API and query each collection
with a stored embedding, which must come back first. The scratch folder is
deleted in every case, and the outcome, the measured recovery time and the
sizes are written to status/restore-test.json, where "snapshot status" and the
chromabackup receiver read them.

The drill needs the reader key of an encrypted bucket: run it where that key
lives (a separate CronJob) when the snapshotting pod holds only the writer
key. A scratch directory without room for the whole snapshot is refused
before anything is restored. Exit code 1 when the drill fails.

A drill interrupted by Ctrl-C or SIGTERM says it was cancelled and exits 1,
like every command cut short; it records nothing, so it neither counts as a
failed restore test nor as a passed one.`,
		Args: snapshotIDArgs("--scratch-directory"),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, stop := signalContext(cmd.Context())
			defer stop()
			repo, s, _, err := f.openForReading(ctx)
			if err != nil {
				return err
			}
			opts := s.DrillOptions()
			opts.ID, opts.ToolVersion = idOrLatest(args), f.version
			if f.scratchDir != "" {
				opts.ScratchDir = f.scratchDir
			}
			if chromaCommand != "" {
				opts.ChromaCommand = chromaCommand
			}
			progress := newProgressPrinter(cmd.ErrOrStderr())
			opts.Progress, opts.Logger = progress, f.logger(cmd.ErrOrStderr())
			res, err := repo.Drill(ctx, opts)
			progress.Done()
			if asJSON {
				if jerr := writeJSON(cmd.OutOrStdout(), toDrillReport(res, err)); jerr != nil {
					return jerr
				}
			} else if err == nil {
				writeDrillPassed(cmd.OutOrStdout(), res)
			}
			return drillError(res, err)
		},
	}
	cmd.Flags().StringVar(&chromaCommand, "chroma-command", "", "chroma executable to serve the restored copy for the API checks (default: drill::chroma_command; none: files only)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the outcome as JSON")
	return cmd
}

// drillError is what the command returns: nil when the drill passed. A
// cancelled drill is no failed drill: it says so, and that nothing was
// recorded.
func drillError(res *snapshot.DrillResult, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, context.Canceled):
		id := ""
		if res != nil && res.SnapshotID != "" {
			id = " of snapshot " + res.SnapshotID
		}
		return fmt.Errorf("restore drill%s CANCELLED before it finished (interrupted): nothing was recorded in the bucket, the last restore test stands; run the drill again", id)
	}
	return fmt.Errorf("restore drill FAILED: %w", err)
}

func toDrillReport(res *snapshot.DrillResult, err error) drillReport {
	r := drillReport{DrillResult: res, Passed: err == nil, Cancelled: errors.Is(err, context.Canceled)}
	if err != nil {
		r.ErrorClass, r.Error = snapshot.DrillErrorClass(err), err.Error()
	}
	return r
}

func writeDrillPassed(w io.Writer, res *snapshot.DrillResult) {
	chroma := "Chroma not started (no chroma command): files and database checked"
	if res.ChromaChecked {
		chroma = fmt.Sprintf("Chroma served it: counts match, %d queries found their record first (ready in %s)",
			res.Queries, res.ChromaReady.Round(time.Millisecond))
	}
	fmt.Fprintf(w, "restore drill PASSED for snapshot %s: %s, %d collections, %d records restored and checked in %s; %s; recovery time %s\n",
		res.SnapshotID, humanBytes(res.Bytes), res.Collections, res.Records, res.Restore.Round(time.Millisecond), chroma,
		res.Recovery.Round(time.Millisecond))
}
