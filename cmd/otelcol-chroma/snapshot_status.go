package main

import (
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/otelcol-chroma/otelcol-chroma/internal/snapshot"
)

// statusReport is `snapshot status --json`.
type statusReport struct {
	Initialized  bool         `json:"initialized"`
	Encrypted    bool         `json:"encrypted"`
	Snapshots    int          `json:"snapshots"`
	Newest       *listEntry   `json:"newest,omitempty"`
	NewestAge    *float64     `json:"newest_age_seconds,omitempty"`
	BlockObjects int64        `json:"block_objects"`
	BucketBytes  int64        `json:"bucket_bytes"`
	RestoreTest  *restoreTest `json:"restore_test,omitempty"`
	RestoreErr   string       `json:"restore_test_error,omitempty"`
	// RestoreTrust: authenticated, intact (unencrypted) or unverified
	// (encrypted, read without a key).
	RestoreTrust string           `json:"restore_test_trust,omitempty"`
	Attempts     []attemptReport  `json:"attempts,omitempty"`
	Vanished     []vanishedReport `json:"vanished,omitempty"`
	now          time.Time
	newestAgeDur time.Duration
}

type restoreTest struct {
	SnapshotID  string    `json:"snapshot_id"`
	Finished    time.Time `json:"finished"`
	Success     bool      `json:"success"`
	Error       string    `json:"error,omitempty"`
	LastSuccess time.Time `json:"last_success,omitzero"`
}

func newSnapshotStatusCommand(f *snapshotFlags) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show backup health at a glance: newest snapshot, last restore test, bucket totals",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signalContext(cmd.Context())
			defer stop()
			repo, _, _, err := f.openForReading(ctx)
			if err != nil {
				return err
			}
			st, err := repo.Status(ctx)
			if err != nil {
				return err
			}
			r := toStatusReport(st, time.Now())
			if asJSON {
				return writeJSON(cmd.OutOrStdout(), r)
			}
			writeStatus(cmd.OutOrStdout(), r)
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func toStatusReport(st *snapshot.Status, now time.Time) statusReport {
	r := statusReport{
		Initialized:  st.Initialized,
		Encrypted:    st.Encrypted,
		Snapshots:    st.Snapshots,
		BlockObjects: st.BlockObjects,
		BucketBytes:  st.TotalBytes(),
		now:          now,
	}
	if st.Newest != nil {
		e := toListEntry(*st.Newest)
		r.Newest = &e
		age := now.Sub(e.Time).Seconds()
		r.NewestAge = &age
	}
	if t := st.RestoreTest; t != nil {
		r.RestoreTest = &restoreTest{SnapshotID: t.SnapshotID, Finished: t.Finished, Success: t.Success, Error: t.Error, LastSuccess: t.LastSuccess}
	}
	if st.RestoreTestErr != nil {
		r.RestoreErr = st.RestoreTestErr.Error()
	}
	if st.RestoreTest != nil {
		r.RestoreTrust = st.RestoreTestTrust.String()
	}
	r.Attempts, r.Vanished = toAttemptReports(st.Attempts), toVanishedReports(st.Vanished)
	return r
}

func writeStatus(w io.Writer, r statusReport) {
	if !r.Initialized {
		fmt.Fprintln(w, "no snapshot repository in this bucket yet: the first `snapshot now` creates it")
		return
	}
	enc := "no"
	if r.Encrypted {
		enc = "yes"
	}
	fmt.Fprintf(w, "encrypted:        %s\n", enc)
	fmt.Fprintf(w, "snapshots:        %d\n", r.Snapshots)
	if r.Newest != nil {
		fmt.Fprintf(w, "newest:           %s at %s (%s ago)", r.Newest.ID, r.Newest.Time.UTC().Format(time.DateTime), r.now.Sub(r.Newest.Time).Round(time.Second))
		if r.Newest.Records != nil {
			fmt.Fprintf(w, ", %d collections, %d records, %s", *r.Newest.Collections, *r.Newest.Records, humanBytes(*r.Newest.Size))
		}
		if r.Newest.Error != "" {
			fmt.Fprintf(w, " DAMAGED: %s", r.Newest.Error)
		}
		if r.Newest.SourceDamaged {
			fmt.Fprintf(w, " %s", sourceDamagedNote)
		}
		fmt.Fprintln(w)
	} else {
		fmt.Fprintln(w, "newest:           none")
	}
	writeVanished(w, r.Vanished)
	writeAttempts(w, r.Attempts, r.now)
	switch {
	case r.RestoreErr != "":
		fmt.Fprintf(w, "restore test:     UNTRUSTED record, not counted: %s\n", r.RestoreErr)
	case r.RestoreTest == nil:
		fmt.Fprintln(w, "restore test:     never run")
	case r.RestoreTest.Success && r.RestoreTrust == snapshot.TrustUnverified.String():
		fmt.Fprintf(w, "restore test:     record says passed %s ago (snapshot %s), UNVERIFIED: give --reader-key or --writer-key to authenticate it\n",
			r.now.Sub(r.RestoreTest.Finished).Round(time.Second), r.RestoreTest.SnapshotID)
	case r.RestoreTest.Success:
		fmt.Fprintf(w, "restore test:     passed %s ago (snapshot %s)\n", r.now.Sub(r.RestoreTest.Finished).Round(time.Second), r.RestoreTest.SnapshotID)
	default:
		fmt.Fprintf(w, "restore test:     FAILED %s ago (snapshot %s): %s\n", r.now.Sub(r.RestoreTest.Finished).Round(time.Second), r.RestoreTest.SnapshotID, r.RestoreTest.Error)
		if !r.RestoreTest.LastSuccess.IsZero() {
			fmt.Fprintf(w, "                  last passed %s ago\n", r.now.Sub(r.RestoreTest.LastSuccess).Round(time.Second))
		}
	}
	fmt.Fprintf(w, "bucket:           %s in %d blocks and %d manifests\n", humanBytes(r.BucketBytes), r.BlockObjects, r.Snapshots)
}
