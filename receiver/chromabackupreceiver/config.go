package chromabackupreceiver // import "github.com/otelcol-chroma/otelcol-chroma/receiver/chromabackupreceiver"

import (
	"errors"
	"strings"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/scraper/scraperhelper"

	"github.com/otelcol-chroma/otelcol-chroma/internal/snapshotconfig"

	"github.com/otelcol-chroma/otelcol-chroma/receiver/chromabackupreceiver/internal/metadata"
)

// Config configures the chromabackup receiver.
type Config struct {
	scraperhelper.ControllerConfig `mapstructure:",squash"`
	metadata.MetricsBuilderConfig  `mapstructure:",squash"`

	// PersistDirectory is Chroma's persist directory: the --path of `chroma run`,
	// or persist_path in Chroma's config file.
	PersistDirectory string `mapstructure:"persist_directory"`

	// Instance identifies the deployment in every metric (resource attribute
	// service.instance.id). Defaults to the host name. Never derived from a path.
	Instance string `mapstructure:"instance"`

	// QuickCheckInterval is how often, at most, chroma.sqlite3 is checked
	// with PRAGMA quick_check (Chroma's writers wait while it runs). 0
	// turns the check off.
	QuickCheckInterval time.Duration `mapstructure:"quick_check_interval"`

	// Bucket is the snapshot bucket to probe, with the same keys as the
	// snapshot extension's `bucket:`. Unset (and no SnapshotExtension): the
	// bucket metrics are not emitted.
	Bucket snapshotconfig.BucketSettings `mapstructure:"bucket"`
	// Encryption names a key file (writer or reader) that authenticates the
	// status records of an encrypted repository. Optional: without it they
	// are read unverified.
	Encryption snapshotconfig.EncryptionSettings `mapstructure:"encryption"`
	// SnapshotExtension takes Bucket and Encryption from that snapshot
	// extension's settings instead, so the bucket is configured once.
	SnapshotExtension *component.ID `mapstructure:"snapshot_extension"`
	// BucketTimeout bounds the bucket requests of one scrape.
	BucketTimeout time.Duration `mapstructure:"bucket_timeout"`
	// BucketListInterval is how often, at most, snapshots/ and blocks/ are
	// listed again while status/ shows no new attempt or restore test.
	BucketListInterval time.Duration `mapstructure:"bucket_list_interval"`

	// prevent unkeyed literal initialization
	_ struct{}
}

var _ confmap.Unmarshaler = (*Config)(nil)

// Unmarshal decodes the configuration strictly and refuses a bucket or key
// setting that is present but empty: an unset environment variable must not
// silently turn the bucket metrics off, or read the status records
// unverified.
func (cfg *Config) Unmarshal(conf *confmap.Conf) error {
	if err := conf.Unmarshal(cfg); err != nil {
		return err
	}
	// A bucket block with other settings but no URL is Validate's to refuse.
	if conf.IsSet("bucket") && cfg.Bucket == (snapshotconfig.BucketSettings{}) {
		return errors.New(`"bucket::url" is empty (an unset environment variable?): name the snapshot bucket, or remove "bucket" to emit no bucket metrics`)
	}
	return snapshotconfig.CheckEncryptionBlock(conf, cfg.Encryption)
}

// minDuration is the shortest duration the receiver's settings take: a
// number without a unit ("collection_interval: 60") is nanoseconds, which
// would scrape without pause or time out every bucket request.
const minDuration = 100 * time.Millisecond

// Validate checks the configuration before the collector starts.
func (cfg *Config) Validate() error {
	var errs []error
	if strings.TrimSpace(cfg.PersistDirectory) == "" {
		errs = append(errs, errors.New(`"persist_directory" is required: set it to Chroma's persist directory (the --path of "chroma run", or persist_path in Chroma's config)`))
	}
	if strings.TrimSpace(cfg.Instance) == "" {
		errs = append(errs, errors.New(`"instance" is empty (an unset environment variable?): set it to the deployment's name, the snapshot extension's instance, or leave the key out to use the host name`))
	}
	if cfg.CollectionInterval <= 0 {
		errs = append(errs, errors.New(`"collection_interval" must be positive, e.g. 60s`))
	}
	if cfg.QuickCheckInterval < 0 {
		errs = append(errs, errors.New(`"quick_check_interval" must not be negative: e.g. 1h, or 0 to turn the check off`))
	}
	errs = append(errs, snapshotconfig.CheckUnit("collection_interval", cfg.CollectionInterval, minDuration, "60s"),
		snapshotconfig.CheckUnit("quick_check_interval", cfg.QuickCheckInterval, minDuration, "1h"))
	return errors.Join(append(errs, cfg.validateBucket())...)
}

func (cfg *Config) validateBucket() error {
	var errs []error
	hasBucket := cfg.Bucket != (snapshotconfig.BucketSettings{})
	switch {
	case hasBucket && cfg.SnapshotExtension != nil:
		errs = append(errs, errors.New(`set either "bucket" or "snapshot_extension", not both: "snapshot_extension" already names the bucket`))
	case hasBucket:
		errs = append(errs, cfg.Bucket.Validate("bucket"))
	case cfg.SnapshotExtension != nil && cfg.Encryption != (snapshotconfig.EncryptionSettings{}):
		errs = append(errs, errors.New(`"encryption" comes from the snapshot extension with "snapshot_extension": remove it here`))
	case cfg.SnapshotExtension == nil && cfg.Encryption != (snapshotconfig.EncryptionSettings{}):
		errs = append(errs, errors.New(`"encryption" needs "bucket" (or "snapshot_extension"): it only authenticates the bucket's status records`))
	}
	if cfg.BucketTimeout <= 0 {
		errs = append(errs, errors.New(`"bucket_timeout" must be positive, e.g. 10s`))
	}
	if cfg.BucketListInterval < 0 {
		errs = append(errs, errors.New(`"bucket_list_interval" must not be negative, e.g. 15m (0: list at every scrape)`))
	}
	errs = append(errs, snapshotconfig.CheckUnit("bucket_timeout", cfg.BucketTimeout, minDuration, "10s"),
		snapshotconfig.CheckUnit("bucket_list_interval", cfg.BucketListInterval, minDuration, "15m"))
	return errors.Join(errs...)
}

// bucketConfigured reports whether the bucket metrics are wanted.
func (cfg *Config) bucketConfigured() bool {
	return cfg.Bucket != (snapshotconfig.BucketSettings{}) || cfg.SnapshotExtension != nil
}
