package main

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/otelcol-chroma/otelcol-chroma/internal/snapshot"
)

// statusReport is `snapshot status --json`.
type statusReport struct {
	Initialized bool       `json:"initialized"`
	Encrypted   bool       `json:"encrypted"`
	Snapshots   int        `json:"snapshots"`
	Newest      *listEntry `json:"newest,omitempty"`
	NewestAge   *float64   `json:"newest_age_seconds,omitempty"`
	// NewestInFuture: the newest snapshot's time is ahead of this
	// machine's clock (NewestAge is then 0).
	NewestInFuture bool `json:"newest_in_future,omitempty"`
	// Damaged lists the snapshots newer than Newest whose manifests are
	// damaged.
	Damaged      []listEntry  `json:"damaged,omitempty"`
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
	ErrorClass  string    `json:"error_class,omitempty"`
	LastSuccess time.Time `json:"last_success,omitzero"`
	// Recovery is the drill's measured recovery time, 0 in records that
	// predate it.
	Recovery float64 `json:"recovery_seconds,omitempty"`
}

func newSnapshotStatusCommand(f *snapshotFlags) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show backup health at a glance: newest snapshot, last restore test, bucket totals",
		Long: `Show backup health at a glance: the newest snapshot whose manifest is intact
and its age, damaged newer ones, each instance's last attempt, snapshots
missing from the bucket, the last restore test and the bucket's totals.

Exit code 1 when there is nothing to restore ("newest: none"): every manifest
in the bucket is damaged, or the bucket holds no snapshot at all. The report
is printed either way.`,
		Args: noArgs,
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
				if err := writeJSON(cmd.OutOrStdout(), r); err != nil {
					return err
				}
			} else {
				writeStatus(cmd.OutOrStdout(), r)
			}
			return errNothingToRestore(r)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

// errNothingToRestore makes `status` exit 1 when the bucket holds no
// snapshot a restore could use ("newest: none"): every manifest damaged,
// or no snapshot at all. A script or a person checking status must not
// read that as healthy.
func errNothingToRestore(r statusReport) error {
	if r.Newest != nil {
		return nil
	}
	const prefix = "NOTHING TO RESTORE: "
	switch {
	case r.Snapshots > 0:
		return fmt.Errorf(prefix+"none of the %d snapshots in this bucket has an intact manifest (see `snapshot list`): restore from a replica of the bucket or an earlier version of a manifest, and take a new snapshot", r.Snapshots)
	case len(r.Vanished) > 0:
		return fmt.Errorf(prefix+"the bucket holds no snapshot, and %d recorded snapshots are missing from it (deleted outside retention: see the warnings above)", len(r.Vanished))
	case len(r.Attempts) > 0:
		return errors.New(prefix + "the bucket holds no snapshot although snapshots were attempted: see the last attempt above and fix what fails it")
	}
	return errors.New(prefix + "the bucket holds no snapshot yet: the repository exists, its first snapshot has not completed")
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
		age := max(0, now.Sub(e.Time).Seconds())
		r.NewestAge, r.NewestInFuture = &age, e.Time.After(now)
	}
	for _, d := range st.DamagedNewer {
		r.Damaged = append(r.Damaged, toListEntry(d))
	}
	if t := st.RestoreTest; t != nil {
		r.RestoreTest = &restoreTest{SnapshotID: t.SnapshotID, Finished: t.Finished, Success: t.Success, Error: t.Error,
			ErrorClass: t.ErrorClass, LastSuccess: t.LastSuccess, Recovery: t.Duration.Seconds()}
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
		fmt.Fprintf(w, "newest:           %s at %s (%s)", r.Newest.ID, r.Newest.Time.UTC().Format(time.DateTime), ago(r.now, r.Newest.Time))
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
	if n := len(r.Damaged); n > 0 {
		fmt.Fprintf(w, "DAMAGED:          %d newer snapshots skipped (see `snapshot list`), newest %s: %s\n", n, r.Damaged[0].ID, r.Damaged[0].Error)
	}
	writeVanished(w, r.Vanished)
	writeAttempts(w, r.Attempts, r.now)
	switch {
	case r.RestoreErr != "":
		fmt.Fprintf(w, "restore test:     UNTRUSTED record, not counted: %s\n", r.RestoreErr)
	case r.RestoreTest == nil:
		fmt.Fprintln(w, "restore test:     never run")
	case r.RestoreTest.Success && r.RestoreTrust == snapshot.TrustUnverified.String():
		fmt.Fprintf(w, "restore test:     record says passed %s (snapshot %s), UNVERIFIED: give --reader-key or --writer-key to authenticate it\n",
			ago(r.now, r.RestoreTest.Finished), r.RestoreTest.SnapshotID)
	case r.RestoreTest.Success:
		fmt.Fprintf(w, "restore test:     passed %s (snapshot %s, recovery time %.1fs)\n", ago(r.now, r.RestoreTest.Finished), r.RestoreTest.SnapshotID, r.RestoreTest.Recovery)
	default:
		fmt.Fprintf(w, "restore test:     FAILED %s (snapshot %s): %s\n", ago(r.now, r.RestoreTest.Finished), r.RestoreTest.SnapshotID,
			cmp.Or(r.RestoreTest.Error, r.RestoreTest.ErrorClass))
		if !r.RestoreTest.LastSuccess.IsZero() {
			fmt.Fprintf(w, "                  last passed %s\n", ago(r.now, r.RestoreTest.LastSuccess))
		}
	}
	fmt.Fprintf(w, "bucket:           %s in %d blocks and %d manifests\n", humanBytes(r.BucketBytes), r.BlockObjects, r.Snapshots)
}

// ago says how long before now t was; a t after now (a clock behind the
// writer's, or a planted record) is said so, never as a negative age.
func ago(now, t time.Time) string {
	if d := now.Sub(t).Round(time.Second); d >= 0 {
		return d.String() + " ago"
	}
	return fmt.Sprintf("in the future by %s: this machine's clock is behind, or the time is wrong", t.Sub(now).Round(time.Second))
}
