package snapshotconfig // import "github.com/otelcol-chroma/otelcol-chroma/internal/snapshotconfig"

import (
	"cmp"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

// Schedule defaults used by the snapshot extension.
const (
	DefaultInterval      = time.Hour
	DefaultTimeout       = time.Hour
	DefaultPruneInterval = 24 * time.Hour
)

// ScheduleSettings say when the snapshot extension takes snapshots and
// prunes. The operator subcommands accept and ignore them, so that one file
// configures both.
type ScheduleSettings struct {
	// Interval between snapshots; default DefaultInterval. Exclusive with Cron.
	Interval time.Duration `mapstructure:"interval"`
	// Cron is a 5-field cron expression ("0 */6 * * *"), evaluated in UTC
	// unless it starts with CRON_TZ=<zone>. Exclusive with Interval.
	Cron string `mapstructure:"cron"`
	// Jitter delays each scheduled attempt by a random duration in [0, Jitter),
	// so that replicas sharing a bucket do not start together.
	Jitter time.Duration `mapstructure:"jitter"`
	// OnStart takes a snapshot as soon as the collector starts.
	OnStart bool `mapstructure:"on_start"`
	// Timeout bounds one attempt; zero means no bound.
	Timeout time.Duration `mapstructure:"timeout"`
	// PruneInterval is how often unreferenced data is pruned from the bucket;
	// default DefaultPruneInterval.
	PruneInterval time.Duration `mapstructure:"prune_interval"`
}

// Schedule gives the time of the next attempt after a given time.
type Schedule interface {
	Next(after time.Time) time.Time
}

// IntervalSchedule fires every Every, counted from the previous time.
type IntervalSchedule struct{ Every time.Duration }

// Next returns after plus the interval.
func (s IntervalSchedule) Next(after time.Time) time.Time { return after.Add(s.Every) }

// SnapshotSchedule returns when snapshots are due: the cron expression if
// set, else the interval (DefaultInterval when unset).
func (s *ScheduleSettings) SnapshotSchedule() (Schedule, error) {
	if strings.TrimSpace(s.Cron) != "" {
		// The standard 5 fields, descriptors (@daily) and CRON_TZ=.
		parser := cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)
		sched, err := parser.Parse(s.Cron)
		if err != nil {
			return nil, fmt.Errorf(`"cron": %q is not a 5-field cron expression (minute hour day-of-month month day-of-week, e.g. "0 */6 * * *"): %w`, s.Cron, err)
		}
		// The parser gives the zero time when no time within five years
		// matches (February 30th): a schedule that never takes a snapshot.
		if sched.Next(time.Now()).IsZero() {
			return nil, fmt.Errorf(`"cron": %q never fires (no date matches it, such as February 30th): check the day-of-month and month fields`, s.Cron)
		}
		return sched, nil
	}
	if s.Interval == 0 {
		return IntervalSchedule{Every: DefaultInterval}, nil
	}
	return IntervalSchedule{Every: s.Interval}, nil
}

func (s *ScheduleSettings) validateSchedule() error {
	var errs []error
	hasCron := strings.TrimSpace(s.Cron) != ""
	if hasCron && s.Interval != 0 {
		errs = append(errs, errors.New(`"interval" and "cron" are exclusive: set one of them`))
	}
	if s.Interval < 0 || (s.Interval > 0 && s.Interval < time.Second) {
		errs = append(errs, fmt.Errorf(`"interval" must be at least 1s, got %s`, s.Interval))
	}
	if hasCron {
		sched, err := s.SnapshotSchedule()
		if err == nil {
			err = checkCronJitter(sched, s.Cron, s.Jitter, time.Now())
		}
		errs = append(errs, err)
	}
	if s.Jitter < 0 {
		errs = append(errs, fmt.Errorf(`"jitter" must not be negative, got %s`, s.Jitter))
	}
	if every := cmp.Or(s.Interval, DefaultInterval); !hasCron && every > 0 && s.Jitter >= every {
		errs = append(errs, fmt.Errorf(`"jitter" (%s) must be shorter than "interval" (%s)`, s.Jitter, every))
	}
	if s.Timeout < 0 {
		errs = append(errs, fmt.Errorf(`"timeout" must not be negative (0 means no bound), got %s`, s.Timeout))
	}
	errs = append(errs, CheckUnit("timeout", s.Timeout, time.Second, "1h"))
	if s.PruneInterval < 0 || (s.PruneInterval > 0 && s.PruneInterval < time.Second) {
		errs = append(errs, fmt.Errorf(`"prune_interval" must be at least 1s, got %s`, s.PruneInterval))
	}
	return errors.Join(errs...)
}

// cronGapRuns bounds the runs of a cron schedule that checkCronJitter looks
// at (within a year). A schedule that runs this often runs at least every
// few minutes on some day, and a gap between two days shows within two
// weeks of runs (at most 1,440 a day); sparser schedules are followed
// through the whole year, months of 28 days and clock changes included.
const cronGapRuns = 20000

// checkCronJitter refuses a jitter not shorter than the shortest gap
// between two runs of a cron schedule, looked for in the year after from:
// an attempt delayed that long would start at or after the next run's
// time, so runs would bunch up or be skipped, as with an interval.
func checkCronJitter(sched Schedule, expr string, jitter time.Duration, from time.Time) error {
	if jitter <= 0 {
		return nil
	}
	end := from.AddDate(1, 0, 0)
	prev := sched.Next(from)
	for range cronGapRuns {
		next := sched.Next(prev)
		if next.IsZero() || next.After(end) {
			return nil
		}
		if gap := next.Sub(prev); jitter >= gap {
			return fmt.Errorf(`"jitter" (%s) must be shorter than the shortest gap between two runs of "cron" %q: %s, from %s to %s`,
				jitter, expr, gap, prev.Format("2006-01-02 15:04 MST"), next.Format("2006-01-02 15:04 MST"))
		}
		prev = next
	}
	return nil
}

// CheckUnit refuses a positive duration below least: a number written
// without its unit ("timeout: 3600" is 3.6µs) would fail every run at once,
// or run without pause. key names the setting, example a valid value.
func CheckUnit(key string, d, least time.Duration, example string) error {
	if d <= 0 || d >= least {
		return nil
	}
	return fmt.Errorf(`%q is %s, less than %s: give the unit, e.g. %s (a number without one is nanoseconds)`, key, d, least, example)
}
