package main

import (
	"fmt"
	"io"
	"time"

	"github.com/otelcol-chroma/otelcol-chroma/internal/snapshot"
)

// attemptReport is one instance's latest snapshot attempt in `snapshot status`.
type attemptReport struct {
	Key                 string    `json:"key"`
	Instance            string    `json:"instance,omitempty"`
	Finished            time.Time `json:"finished,omitzero"`
	Outcome             string    `json:"outcome,omitempty"`
	ErrorClass          string    `json:"error_class,omitempty"`
	Error               string    `json:"error,omitempty"`
	SnapshotID          string    `json:"snapshot_id,omitempty"`
	ConsecutiveFailures int       `json:"consecutive_failures"`
	LastSuccess         time.Time `json:"last_success,omitzero"`
	Trust               string    `json:"trust"`
	// RecordError says why the record is not trusted (forged, altered).
	RecordError string `json:"record_error,omitempty"`
}

// vanishedReport is a recorded snapshot missing from the bucket.
type vanishedReport struct {
	ID       string    `json:"id"`
	Instance string    `json:"instance"`
	Recorded time.Time `json:"recorded"`
}

func toAttemptReports(attempts []snapshot.AttemptStatus) []attemptReport {
	out := make([]attemptReport, 0, len(attempts))
	for _, a := range attempts {
		r := attemptReport{Key: a.Key, Trust: a.Trust.String()}
		if a.Err != nil {
			r.RecordError = a.Err.Error()
		}
		if rec := a.Record; rec != nil {
			r.Instance, r.Finished, r.Outcome, r.ErrorClass, r.Error = rec.Instance, rec.Finished, rec.Outcome, rec.ErrorClass, rec.Error
			r.SnapshotID, r.ConsecutiveFailures, r.LastSuccess = rec.SnapshotID, rec.ConsecutiveFailures, rec.LastSuccess
			if r.Instance == "" {
				r.Instance = rec.Hostname
			}
		}
		out = append(out, r)
	}
	return out
}

func toVanishedReports(vanished []snapshot.Vanished) []vanishedReport {
	out := make([]vanishedReport, 0, len(vanished))
	for _, v := range vanished {
		out = append(out, vanishedReport{ID: v.ID, Instance: v.Instance, Recorded: v.Recorded})
	}
	return out
}

func writeVanished(w io.Writer, vanished []vanishedReport) {
	for _, v := range vanished {
		fmt.Fprintf(w, "WARNING:          snapshot %s, recorded by instance %q at %s, is MISSING from the bucket: it was deleted outside retention (check the bucket's access logs; object versioning can bring it back)\n",
			v.ID, v.Instance, v.Recorded.UTC().Format(time.DateTime))
	}
}

func writeAttempts(w io.Writer, attempts []attemptReport, now time.Time) {
	for _, a := range attempts {
		if a.RecordError != "" {
			fmt.Fprintf(w, "last attempt:     UNTRUSTED record %s, not counted: %s\n", a.Key, a.RecordError)
			continue
		}
		when := ago(now, a.Finished)
		unverified := ""
		if a.Trust == snapshot.TrustUnverified.String() {
			unverified = " (unverified: give --reader-key or --writer-key to authenticate it)"
		}
		if a.Outcome == snapshot.OutcomeSuccess {
			fmt.Fprintf(w, "last attempt:     %s: succeeded %s (snapshot %s)%s\n", a.Instance, when, a.SnapshotID, unverified)
			continue
		}
		fmt.Fprintf(w, "last attempt:     %s: FAILED %s (%s), %d consecutive failures", a.Instance, when, a.ErrorClass, a.ConsecutiveFailures)
		if a.Error != "" {
			fmt.Fprintf(w, ": %s", a.Error)
		}
		fmt.Fprintln(w, unverified)
		if !a.LastSuccess.IsZero() {
			fmt.Fprintf(w, "                  last success %s\n", ago(now, a.LastSuccess))
		}
	}
}
