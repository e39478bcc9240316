package chromabackupreceiver // import "github.com/otelcol-chroma/otelcol-chroma/receiver/chromabackupreceiver"

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/collector/scraper/scrapererror"
	"go.uber.org/zap"

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

	// lastProblem is what was wrong at the previous scrape; a problem is logged
	// when it appears or changes, and recovery once, never once per scrape.
	lastProblem string
}

func newScraper(cfg *Config, set receiver.Settings) *chromaScraper {
	return &chromaScraper{
		cfg:    cfg,
		logger: set.Logger,
		set:    set,
		probe:  newPersistProbe(cfg.PersistDirectory, sqliteBusyTimeout, cfg.QuickCheckInterval),
	}
}

func (s *chromaScraper) start(context.Context, component.Host) error {
	s.mb = metadata.NewMetricsBuilder(s.cfg.MetricsBuilderConfig, s.set)
	return nil
}

func (s *chromaScraper) shutdown(context.Context) error { return nil }

func (s *chromaScraper) scrape(ctx context.Context) (pmetric.Metrics, error) {
	now := pcommon.NewTimestampFromTime(time.Now())
	r := s.probe.run(ctx)

	up := int64(0)
	if r.up() {
		up = 1
	}
	s.mb.RecordChromaPersistUpDataPoint(now, up)
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

	rb := s.mb.NewResourceBuilder()
	if s.cfg.Instance != "" {
		rb.SetServiceInstanceID(s.cfg.Instance)
	}
	md := s.mb.Emit(metadata.WithResource(rb.Emit()))
	return md, s.report(r)
}

// report logs a problem once when it appears or changes and returns it as a
// partial scrape error that one time; while it persists, chroma.persist.up says so.
func (s *chromaScraper) report(r probeResult) error {
	problem := r.problem()
	defer func() { s.lastProblem = problem }()
	switch {
	case problem == "" && s.lastProblem != "":
		s.logger.Info("Chroma persist directory is readable again")
		return nil
	case problem == "" || problem == s.lastProblem:
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

func (r probeResult) problem() string {
	var msgs []string
	for _, err := range r.errs() {
		if err != nil {
			msgs = append(msgs, err.Error())
		}
	}
	switch len(msgs) {
	case 0:
		return ""
	case 1:
		return msgs[0]
	}
	return fmt.Sprint(errors.Join(r.errs()...))
}

func (r probeResult) errs() []error { return []error{r.sizeErr, r.volumeErr, r.dbErr, r.checkErr} }
