package snapshotconfig // import "github.com/otelcol-chroma/otelcol-chroma/internal/snapshotconfig"

import (
	"errors"
	"fmt"
	"time"
	_ "time/tzdata" // time_zone works on images without /usr/share/zoneinfo

	"github.com/otelcol-chroma/otelcol-chroma/internal/snapshot"
)

// RetentionSettings are the `retention:` keys: restic's keep rules, the
// time zone of their calendar periods, and which snapshots they apply to.
type RetentionSettings struct {
	KeepLast    int `mapstructure:"keep_last"`
	KeepHourly  int `mapstructure:"keep_hourly"`
	KeepDaily   int `mapstructure:"keep_daily"`
	KeepWeekly  int `mapstructure:"keep_weekly"`
	KeepMonthly int `mapstructure:"keep_monthly"`
	KeepYearly  int `mapstructure:"keep_yearly"`
	// KeepWithin keeps every snapshot younger than this span before the
	// newest one, in restic's notation ("7d", "1y6m", "36h"; m is months).
	KeepWithin string `mapstructure:"keep_within"`
	// TimeZone holds the hours, days, weeks, months and years (IANA name).
	TimeZone string `mapstructure:"time_zone"`
	// Scope says which snapshots the rules apply to: "instance" (the
	// configured instance's only), "per_instance" (every instance's, each
	// on its own, like restic's grouping by host) or "bucket" (all as one).
	Scope string `mapstructure:"scope"`
}

// DefaultRetention is the runbook's 7-4-3 plus a day of hourlies.
func DefaultRetention() RetentionSettings {
	return RetentionSettings{KeepHourly: 24, KeepDaily: 7, KeepWeekly: 4, KeepMonthly: 3, TimeZone: "UTC", Scope: string(snapshot.ScopeInstance)}
}

// validate checks every key and names the one at fault. Settings.Validate
// calls it: an exported Validate would run twice in a collector, which
// validates every nested struct that has one.
func (r *RetentionSettings) validate() error {
	_, _, err := r.Policy()
	return err
}

// Policy returns the engine's policy and scope. An empty time zone is UTC,
// an empty scope "instance".
func (r *RetentionSettings) Policy() (snapshot.Policy, snapshot.Scope, error) {
	var errs []error
	within, err := snapshot.ParseWithin(r.KeepWithin)
	if err != nil {
		errs = append(errs, fmt.Errorf(`"retention::keep_within": %w`, err))
	}
	loc := time.UTC
	if r.TimeZone != "" {
		if loc, err = time.LoadLocation(r.TimeZone); err != nil {
			errs = append(errs, fmt.Errorf(`"retention::time_zone" %q is not a time zone: use an IANA name such as UTC or Europe/Berlin`, r.TimeZone))
		}
	}
	p := snapshot.Policy{Last: r.KeepLast, Hourly: r.KeepHourly, Daily: r.KeepDaily, Weekly: r.KeepWeekly,
		Monthly: r.KeepMonthly, Yearly: r.KeepYearly, Within: within, Location: loc}
	if err := p.Validate(); err != nil {
		errs = append(errs, fmt.Errorf(`"retention": %w`, err))
	}
	scope := snapshot.Scope(r.Scope)
	if scope == "" {
		scope = snapshot.ScopeInstance
	}
	if err := scope.Validate(); err != nil {
		errs = append(errs, fmt.Errorf(`"retention::scope": %w`, err))
	}
	return p, scope, errors.Join(errs...)
}
