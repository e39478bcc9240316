package chromabackupreceiver // import "github.com/otelcol-chroma/otelcol-chroma/receiver/chromabackupreceiver"

import (
	"context"
	"os"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/collector/scraper"
	"go.opentelemetry.io/collector/scraper/scraperhelper"

	"github.com/otelcol-chroma/otelcol-chroma/receiver/chromabackupreceiver/internal/metadata"
)

// NewFactory creates the chromabackup receiver factory.
func NewFactory() receiver.Factory {
	return receiver.NewFactory(
		metadata.Type,
		createDefaultConfig,
		receiver.WithMetrics(createMetricsReceiver, metadata.MetricsStability),
	)
}

// defaultQuickCheckInterval: quick_check reads the whole database (about
// 0.4 s for 414 MiB) while Chroma's writers wait, so once an hour.
const defaultQuickCheckInterval = time.Hour

// Bucket probing defaults: a scrape waits at most defaultBucketTimeout for
// the bucket, and snapshots/ and blocks/ are listed again at least every
// defaultBucketListInterval (sooner when status/ changes).
const (
	defaultBucketTimeout      = 10 * time.Second
	defaultBucketListInterval = 15 * time.Minute
)

func createDefaultConfig() component.Config {
	cc := scraperhelper.NewDefaultControllerConfig()
	cc.CollectionInterval = 60 * time.Second
	host, _ := os.Hostname()
	return &Config{
		ControllerConfig:     cc,
		MetricsBuilderConfig: metadata.DefaultMetricsBuilderConfig(),
		Instance:             host,
		QuickCheckInterval:   defaultQuickCheckInterval,
		BucketTimeout:        defaultBucketTimeout,
		BucketListInterval:   defaultBucketListInterval,
	}
}

func createMetricsReceiver(
	_ context.Context,
	set receiver.Settings,
	cfg component.Config,
	next consumer.Metrics,
) (receiver.Metrics, error) {
	rCfg := cfg.(*Config)
	s := newScraper(rCfg, set)
	sc, err := scraper.NewMetrics(s.scrape, scraper.WithStart(s.start), scraper.WithShutdown(s.shutdown))
	if err != nil {
		return nil, err
	}
	return scraperhelper.NewMetricsController(
		&rCfg.ControllerConfig, set, next,
		scraperhelper.AddMetricsScraper(metadata.Type, sc),
	)
}
