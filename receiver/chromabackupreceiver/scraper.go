package chromabackupreceiver // import "github.com/otelcol-chroma/otelcol-chroma/receiver/chromabackupreceiver"

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/collector/scraper/scrapererror"
	"go.uber.org/zap"

	"github.com/otelcol-chroma/otelcol-chroma/internal/storage"
	"github.com/otelcol-chroma/otelcol-chroma/receiver/chromabackupreceiver/internal/metadata"
)

// sqliteBusyTimeout bounds how long one probe query waits behind Chroma's writers.
const sqliteBusyTimeout = 2 * time.Second

type chromaScraper struct {
	cfg    *Config
	logger *zap.Logger
	mb     *metadata.MetricsBuilder
	set    receiver.Settings
	probe  *persistProbe
	opts   scraperOptions
	// bucket is nil when no bucket is configured.
	bucket *bucketProbe
	// unrecorded is the snapshot extension named by snapshot_extension,
	// when it offers its unrecorded failures; else nil.
	unrecorded UnrecordedFailuresProvider

	// What was wrong at the previous scrape: a problem is logged when it
	// appears or changes, and its end once, never once per scrape.
	persistProblem, bucketProblem, instanceNote problemState
}

// scraperOptions are the seams tests use.
type scraperOptions struct {
	// httpClient carries the bucket's S3 requests (to count them).
	httpClient *http.Client
}

// scraperOption sets a scraperOptions field.
type scraperOption func(*scraperOptions)

func withHTTPClient(c *http.Client) scraperOption {
	return func(o *scraperOptions) { o.httpClient = c }
}

func newScraper(cfg *Config, set receiver.Settings, opts ...scraperOption) *chromaScraper {
	s := &chromaScraper{
		cfg:    cfg,
		logger: set.Logger,
		set:    set,
		probe:  newPersistProbe(cfg.PersistDirectory, sqliteBusyTimeout, cfg.QuickCheckInterval),
	}
	for _, o := range opts {
		o(&s.opts)
	}
	return s
}

func (s *chromaScraper) start(ctx context.Context, host component.Host) error {
	s.mb = metadata.NewMetricsBuilder(s.cfg.MetricsBuilderConfig, s.set)
	if !s.cfg.bucketConfigured() {
		return nil
	}
	settings, unrecorded, err := bucketSettings(s.cfg, host)
	if err != nil {
		return err
	}
	s.unrecorded = unrecorded
	s.warnInstanceMismatch(settings)
	b, err := settings.Bucket.Open(ctx, storage.Options{Retry: bucketRetryPolicy(), HTTPClient: s.opts.httpClient})
	if err != nil {
		return fmt.Errorf("bucket: %w", err)
	}
	keys, err := settings.ReaderKeys()
	if err != nil {
		return err
	}
	s.bucket = newBucketProbe(b, keys, s.cfg.BucketTimeout, s.cfg.BucketListInterval)
	return nil
}

func (s *chromaScraper) shutdown(context.Context) error { return nil }

func (s *chromaScraper) scrape(ctx context.Context) (pmetric.Metrics, error) {
	wall := time.Now()
	now := pcommon.NewTimestampFromTime(wall)
	r := s.probe.run(ctx)
	s.recordPersist(now, r)
	persistErr := s.report(r)
	bucketErr := s.scrapeBucket(ctx, now, wall)

	rb := s.mb.NewResourceBuilder()
	if s.cfg.Instance != "" {
		rb.SetServiceInstanceID(s.cfg.Instance)
	}
	md := s.mb.Emit(metadata.WithResource(rb.Emit()))
	return md, joinScrapeErrors(persistErr, bucketErr)
}

func (s *chromaScraper) recordPersist(now pcommon.Timestamp, r probeResult) {
	s.mb.RecordChromaPersistUpDataPoint(now, boolValue(r.up()))
	if r.sizeErr == nil {
		s.mb.RecordChromaPersistSizeDataPoint(now, r.size)
	}
	if r.volumeErr == nil {
		s.mb.RecordChromaPersistVolumeAvailableDataPoint(now, r.volumeAvailable)
		s.mb.RecordChromaPersistVolumeSizeDataPoint(now, r.volumeSize)
	}
	if r.dbErr == nil {
		s.mb.RecordChromaPersistCollectionsDataPoint(now, r.collections)
		s.mb.RecordChromaPersistRecordsDataPoint(now, r.records)
	}
}

// report returns a persist-directory problem as a partial scrape error
// when it appears or changes (the controller logs it); while it persists,
// chroma.persist.up says so.
func (s *chromaScraper) report(r probeResult) error {
	problem := r.problem()
	if !s.persistProblem.update(s.logger, problem, "Chroma persist directory is readable again") {
		return nil
	}
	failed := 0
	for _, err := range r.errs() {
		if err != nil {
			failed++
		}
	}
	return scrapererror.NewPartialScrapeError(errors.New(problem), failed)
}

// problemState remembers the problem seen at the previous scrape.
type problemState struct{ last string }

// update records problem ("" for none) and reports whether it is new: it
// appeared or changed. When a problem ends it logs resolved once.
func (ps *problemState) update(logger *zap.Logger, problem, resolved string) bool {
	last := ps.last
	ps.last = problem
	if problem == "" && last != "" {
		logger.Info(resolved)
	}
	return problem != "" && problem != last
}

// joinScrapeErrors merges partial scrape errors into one.
func joinScrapeErrors(errs ...error) error {
	var msgs []error
	failed := 0
	for _, err := range errs {
		var pe scrapererror.PartialScrapeError
		if errors.As(err, &pe) {
			msgs, failed = append(msgs, errors.New(pe.Error())), failed+pe.Failed
		}
	}
	if len(msgs) == 0 {
		return nil
	}
	return scrapererror.NewPartialScrapeError(errors.Join(msgs...), failed)
}

// problem is the probe's errors in one message, each said once (a missing
// directory fails the size and the database probe alike).
func (r probeResult) problem() string {
	var msgs []string
	for _, err := range r.errs() {
		if err != nil && !slices.Contains(msgs, err.Error()) {
			msgs = append(msgs, err.Error())
		}
	}
	return strings.Join(msgs, "\n")
}

func (r probeResult) errs() []error { return []error{r.sizeErr, r.volumeErr, r.dbErr, r.checkErr} }
