package snapshot

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

func TestParseWithin(t *testing.T) {
	for in, want := range map[string]Within{
		"":         {},
		"7d":       {Days: 7},
		"1y5m7d2h": {Years: 1, Months: 5, Days: 7, Hours: 2},
		"36h":      {Hours: 36},
		" 2m ":     {Months: 2},
	} {
		got, err := ParseWithin(in)
		if err != nil || got != want {
			t.Errorf("ParseWithin(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
	for in, wantMsg := range map[string]string{
		"7":    "want numbers with a unit",
		"d":    "want numbers with a unit",
		"30s":  `unknown unit 's'`,
		"1h2h": "unit h given twice",
		"-1d":  "want numbers with a unit",
	} {
		_, err := ParseWithin(in)
		if err == nil || !strings.Contains(err.Error(), wantMsg) {
			t.Errorf("ParseWithin(%q) = %v; want an error containing %q", in, err, wantMsg)
		}
	}
}

func TestPolicyValidate(t *testing.T) {
	if err := (Policy{Daily: 7}).Validate(); err != nil {
		t.Fatal(err)
	}
	err := (Policy{Weekly: -1}).Validate()
	if err == nil || !strings.Contains(err.Error(), "keep_weekly is -1") {
		t.Fatalf("got %v", err)
	}
}

// TestPolicyKeepsNewest: whatever the rules and times, the newest snapshot
// stays, and an empty policy keeps everything.
func TestPolicyKeepsNewest(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 1))
	base := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	for range 200 {
		items := make([]RetentionItem, 1+rng.IntN(30))
		for i := range items {
			items[i] = RetentionItem{ID: fmt.Sprint(i), Time: base.Add(time.Duration(rng.Int64N(int64(90 * 24 * time.Hour))))}
		}
		p := Policy{Last: rng.IntN(3), Hourly: rng.IntN(3), Daily: rng.IntN(3), Weekly: rng.IntN(3),
			Monthly: rng.IntN(3), Yearly: rng.IntN(2), Within: Within{Days: rng.IntN(2)}}
		ds := p.Apply(items)
		if len(ds) != len(items) {
			t.Fatalf("%d decisions for %d items", len(ds), len(items))
		}
		for i := 1; i < len(ds); i++ {
			if ds[i].Time.After(ds[i-1].Time) {
				t.Fatalf("decisions not newest first: %v after %v", ds[i].Time, ds[i-1].Time)
			}
		}
		if !ds[0].Keep {
			t.Fatalf("policy %s removes the newest snapshot", p)
		}
		if p.Empty() {
			for _, d := range ds {
				if !d.Keep || d.Reasons[0] != "policy is empty" {
					t.Fatalf("empty policy removes %s", d.ID)
				}
			}
		}
	}
}

// TestPolicyWeekOfHourlies is README's worked example: a week of hourly
// snapshots under the default policy.
func TestPolicyWeekOfHourlies(t *testing.T) {
	var items []RetentionItem
	start := time.Date(2026, 3, 2, 0, 30, 0, 0, time.UTC) // Monday
	for h := range 7 * 24 {
		tm := start.Add(time.Duration(h) * time.Hour)
		items = append(items, RetentionItem{ID: tm.Format(idTimeLayout), Time: tm})
	}
	p := Policy{Hourly: 24, Daily: 7, Weekly: 4, Monthly: 3}
	var kept []string
	for _, d := range p.Apply(items) {
		if d.Keep {
			kept = append(kept, d.Time.Format("Mon 15:04"))
		}
	}
	// the last 24 hours, plus each earlier day's last snapshot (23:30);
	// Sunday 23:30 is also the week's and the month's.
	want := "Sun 23:30 Sun 22:30 Sun 21:30 Sun 20:30 Sun 19:30 Sun 18:30 Sun 17:30 Sun 16:30 Sun 15:30 Sun 14:30 Sun 13:30 Sun 12:30 " +
		"Sun 11:30 Sun 10:30 Sun 09:30 Sun 08:30 Sun 07:30 Sun 06:30 Sun 05:30 Sun 04:30 Sun 03:30 Sun 02:30 Sun 01:30 Sun 00:30 " +
		"Sat 23:30 Fri 23:30 Thu 23:30 Wed 23:30 Tue 23:30 Mon 23:30"
	if got := strings.Join(kept, " "); got != want {
		t.Fatalf("kept %d:\n%s\nwant:\n%s", len(kept), got, want)
	}
}
