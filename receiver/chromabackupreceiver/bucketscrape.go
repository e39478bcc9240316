package chromabackupreceiver // import "github.com/otelcol-chroma/otelcol-chroma/receiver/chromabackupreceiver"

import (
	"context"
	"fmt"
	"strings"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/scraper/scrapererror"

	"github.com/otelcol-chroma/otelcol-chroma/internal/snapshot"
	"github.com/otelcol-chroma/otelcol-chroma/internal/snapshotconfig"
)

// SnapshotSettingsProvider is what the snapshot extension offers so that
// the receiver reads the bucket it writes, configured once
// (`snapshot_extension:`).
type SnapshotSettingsProvider interface {
	SnapshotSettings() snapshotconfig.Settings
}

// UnrecordedFailuresProvider is what the snapshot extension offers besides
// its settings: the instance it records its attempts under, and how many of
// them failed since the last status record it could write. A bucket that
// can be read but not written (full, write permission revoked) takes no
// record of its failures, so the receiver adds them to the record's.
type UnrecordedFailuresProvider interface {
	UnrecordedFailures() (instance string, failures int)
}

// bucketSettings returns the bucket and key settings: the receiver's own,
// or those of the snapshot extension it names, with the extension's
// unrecorded failures when it offers them (else nil).
func bucketSettings(cfg *Config, host component.Host) (snapshotconfig.Settings, UnrecordedFailuresProvider, error) {
	if cfg.SnapshotExtension == nil {
		return snapshotconfig.Settings{Bucket: cfg.Bucket, Encryption: cfg.Encryption}, nil, nil
	}
	id := *cfg.SnapshotExtension
	ext, ok := host.GetExtensions()[id]
	if !ok {
		return snapshotconfig.Settings{}, nil, fmt.Errorf(`snapshot_extension: no extension %q is running: add it under extensions and service::extensions, or configure "bucket" here`, id)
	}
	p, ok := ext.(SnapshotSettingsProvider)
	if !ok {
		return snapshotconfig.Settings{}, nil, fmt.Errorf("snapshot_extension: extension %q is not a snapshot extension (it does not offer its bucket settings)", id)
	}
	s := p.SnapshotSettings()
	if err := s.Bucket.Validate("snapshot_extension " + id.String() + ": bucket"); err != nil {
		return snapshotconfig.Settings{}, nil, err
	}
	unrecorded, _ := ext.(UnrecordedFailuresProvider)
	return snapshotconfig.Settings{Bucket: s.Bucket, Encryption: s.Encryption, Instance: s.Instance}, unrecorded, nil
}

// warnInstanceMismatch warns at start when the snapshot extension records
// its attempts under another instance label than the receiver reads (an
// extension without one records them under the host name).
func (s *chromaScraper) warnInstanceMismatch(settings snapshotconfig.Settings) {
	if s.cfg.SnapshotExtension == nil {
		return
	}
	if recordsAs := snapshot.AttemptInstance(settings.Instance); recordsAs != s.cfg.Instance {
		s.logger.Warn(fmt.Sprintf("snapshot_extension records attempts as instance %q, but this receiver's instance is %q: chroma.backup.last_attempt.success and chroma.backup.consecutive_failures follow %q's record; set the same instance in both", recordsAs, s.cfg.Instance, s.cfg.Instance))
	}
}

// scrapeBucket records the bucket metrics and returns a problem as a
// partial scrape error when it appears or changes.
func (s *chromaScraper) scrapeBucket(ctx context.Context, ts pcommon.Timestamp, now time.Time) error {
	if s.bucket == nil {
		return nil
	}
	st, err := s.bucket.run(ctx)
	if err != nil {
		s.mb.RecordChromaBucketUpDataPoint(ts, 0)
		return s.reportBucket(bucketProblemKey(err), describeBucketError(err))
	}
	up := int64(1)
	untrusted := st.untrusted()
	if len(untrusted) > 0 {
		up = 0
	}
	s.mb.RecordChromaBucketUpDataPoint(ts, up)
	s.recordInventory(ts, now, st)
	s.recordAttempt(ts, st)
	s.recordRestoreTest(ts, now, st)
	if len(untrusted) > 0 {
		err := describeUntrusted(untrusted)
		return s.reportBucket("untrusted: "+err.Error(), err)
	}
	return s.reportBucket("", nil)
}

func (s *chromaScraper) reportBucket(key string, err error) error {
	if !s.bucketProblem.update(s.logger, key, "snapshot bucket is readable again and its status records are trusted") {
		return nil
	}
	return scrapererror.NewPartialScrapeError(err, 1)
}

func (s *chromaScraper) recordInventory(ts pcommon.Timestamp, now time.Time, st *bucketState) {
	inv := st.inv
	s.mb.RecordChromaBackupCountDataPoint(ts, int64(inv.Snapshots))
	s.mb.RecordChromaBucketSizeDataPoint(ts, inv.TotalBytes())
	id, at, ok := st.newestSuccess(now)
	if !ok {
		return
	}
	s.mb.RecordChromaBackupLastSuccessTimeDataPoint(ts, at.Unix())
	// Two snapshots within one second get ids a second apart, so the newest
	// id's time can be ahead of the clock by a second or two.
	s.mb.RecordChromaBackupAgeDataPoint(ts, max(0, now.Sub(at).Seconds()))
	if f, ok := st.newestFigures(id); ok {
		s.mb.RecordChromaBackupSizeDataPoint(ts, f.logicalBytes)
		s.mb.RecordChromaBackupAddedSizeDataPoint(ts, f.addedBytes)
		s.mb.RecordChromaBackupDurationDataPoint(ts, f.duration.Seconds())
		s.mb.RecordChromaBackupWriterStallDataPoint(ts, f.writerStall.Seconds())
	}
}

// recordAttempt records the receiver's own instance's last attempt. A
// record that cannot be trusted counts as a failed attempt. The snapshot
// extension's failures that the bucket took no record of count too.
func (s *chromaScraper) recordAttempt(ts pcommon.Timestamp, st *bucketState) {
	rec, err := st.attempt(s.cfg.Instance)
	// Read after the record: a record written in between already counts
	// these failures and resets them, so one scrape can undercount, never
	// count twice.
	unrecorded := s.unrecordedFailures()
	switch {
	case err != nil:
		s.mb.RecordChromaBackupLastAttemptSuccessDataPoint(ts, 0)
	case unrecorded > 0:
		recorded := 0
		if rec != nil {
			recorded = rec.ConsecutiveFailures
		}
		s.mb.RecordChromaBackupLastAttemptSuccessDataPoint(ts, 0)
		s.mb.RecordChromaBackupConsecutiveFailuresDataPoint(ts, int64(recorded+unrecorded))
	case rec != nil:
		s.mb.RecordChromaBackupLastAttemptSuccessDataPoint(ts, boolValue(rec.Outcome == snapshot.OutcomeSuccess))
		s.mb.RecordChromaBackupConsecutiveFailuresDataPoint(ts, int64(rec.ConsecutiveFailures))
	}
	s.noteMissingAttempt(st, rec == nil && err == nil && unrecorded == 0)
}

// unrecordedFailures returns the snapshot extension's failed attempts that
// the bucket holds no record of, when the extension records this
// receiver's instance.
func (s *chromaScraper) unrecordedFailures() int {
	if s.unrecorded == nil {
		return 0
	}
	instance, n := s.unrecorded.UnrecordedFailures()
	if instance != s.cfg.Instance {
		return 0
	}
	return n
}

// noteMissingAttempt logs once when the bucket holds attempt records, but
// none for this receiver's instance.
func (s *chromaScraper) noteMissingAttempt(st *bucketState, missing bool) {
	note := ""
	if missing && len(st.attempts) > 0 {
		var keys []string
		for _, a := range st.attempts {
			keys = append(keys, a.Key)
		}
		note = fmt.Sprintf("the snapshot bucket holds no attempt record for instance %q (it holds %s): chroma.backup.last_attempt.success and chroma.backup.consecutive_failures appear once snapshots are taken with the same instance label as this receiver's", s.cfg.Instance, strings.Join(keys, ", "))
	}
	if s.instanceNote.update(s.logger, note, "the snapshot bucket now holds this instance's attempt record") {
		s.logger.Warn(note)
	}
}

// recordRestoreTest records the last restore test. A record that cannot be
// trusted counts as a failed test, with no time of a last success.
func (s *chromaScraper) recordRestoreTest(ts pcommon.Timestamp, now time.Time, st *bucketState) {
	if st.restoreTestErr != nil {
		s.mb.RecordChromaBackupRestoreTestLastAttemptSuccessDataPoint(ts, 0)
		return
	}
	rt := st.restoreTest
	if rt == nil {
		return
	}
	s.mb.RecordChromaBackupRestoreTestLastAttemptSuccessDataPoint(ts, boolValue(rt.Success))
	s.mb.RecordChromaBackupRestoreTestDurationDataPoint(ts, rt.RecoveryTime().Seconds())
	if !rt.LastSuccess.IsZero() {
		s.mb.RecordChromaBackupRestoreTestLastSuccessTimeDataPoint(ts, rt.LastSuccess.Unix())
		s.mb.RecordChromaBackupRestoreTestAgeDataPoint(ts, max(0, now.Sub(rt.LastSuccess).Seconds()))
	}
}

func boolValue(b bool) int64 {
	if b {
		return 1
	}
	return 0
}
