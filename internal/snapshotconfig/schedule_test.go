package snapshotconfig

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A jitter as long as the shortest gap between two runs of the cron
// schedule is refused, naming the gap and where it is; one just shorter
// passes. The shortest gap may lie between two days, in February, or at a
// clock change of the schedule's zone.
func TestCronJitterShorterThanShortestGap(t *testing.T) {
	from := time.Date(2026, 12, 5, 10, 17, 0, 0, time.UTC)
	for _, c := range []struct {
		cron string
		gap  time.Duration
		want string // in the error for a jitter of gap
	}{
		{"0 */6 * * *", 6 * time.Hour, "6h0m0s, from 2026-12-05 12:00 UTC to 2026-12-05 18:00 UTC"},
		{"0 3,4 * * *", time.Hour, "1h0m0s, from 2026-12-06 03:00 UTC to 2026-12-06 04:00 UTC"},
		{"0 0,23 * * *", time.Hour, "1h0m0s, from 2026-12-05 23:00 UTC to 2026-12-06 00:00 UTC"},
		{"@every 10m", 10 * time.Minute, "10m0s"},
		{"0 0 1 * *", 28 * 24 * time.Hour, "from 2027-02-01 00:00 UTC to 2027-03-01 00:00 UTC"},
		// 01:30 and 03:30 local are one hour apart on the day clocks go forward.
		{"CRON_TZ=Europe/Berlin 30 1,3 * * *", time.Hour, "from 2027-03-28 00:30 UTC to 2027-03-28 01:30 UTC"},
	} {
		t.Run(c.cron, func(t *testing.T) {
			s := ScheduleSettings{Cron: c.cron}
			sched, err := s.SnapshotSchedule()
			require.NoError(t, err)
			err = checkCronJitter(sched, c.cron, c.gap, from)
			require.Error(t, err)
			assert.ErrorContains(t, err, `"jitter" (`+c.gap.String()+`) must be shorter than the shortest gap between two runs of "cron"`)
			assert.ErrorContains(t, err, c.want)
			assert.NoError(t, checkCronJitter(sched, c.cron, c.gap-time.Second, from))
		})
	}
}

// The settings refuse it with the other schedule errors, at start.
func TestValidateRefusesCronJitter(t *testing.T) {
	s := ScheduleSettings{Cron: "0 3,4 * * *", Jitter: 2 * time.Hour}
	assert.ErrorContains(t, s.validateSchedule(), `"jitter" (2h0m0s) must be shorter than the shortest gap between two runs of "cron" "0 3,4 * * *": 1h0m0s`)
	s.Jitter = 59 * time.Minute
	assert.NoError(t, s.validateSchedule())
}
