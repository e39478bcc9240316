package snapshot

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Policy is a retention policy with restic's semantics and names
// (`restic forget --keep-*`). Snapshots are walked newest first. A
// snapshot is kept when any rule keeps it:
//
//   - Last: the newest Last snapshots;
//   - Hourly, Daily, Weekly, Monthly, Yearly: the newest snapshot of each
//     of the newest N periods that hold a snapshot (a period without a
//     snapshot uses up nothing); weeks are ISO 8601 weeks; periods are
//     calendar periods in Location;
//   - Within: every snapshot taken after the newest snapshot's time minus
//     Within (calendar arithmetic in Location), not after now.
//
// Rules count independently: a snapshot kept by several rules uses up one
// place in each. A zero count disables its rule; a policy with no rule keeps
// everything. Any rule keeps the newest snapshot, so it is never removed.
type Policy struct {
	Last, Hourly, Daily, Weekly, Monthly, Yearly int
	Within                                       Within
	// Location holds the calendar periods; nil means UTC.
	Location *time.Location
}

// Empty reports whether the policy has no rule (and so keeps everything).
func (p Policy) Empty() bool {
	return p.Last == 0 && p.Hourly == 0 && p.Daily == 0 && p.Weekly == 0 &&
		p.Monthly == 0 && p.Yearly == 0 && p.Within.Zero()
}

// Validate refuses negative counts.
func (p Policy) Validate() error {
	for _, c := range []struct {
		name string
		n    int
	}{{"keep_last", p.Last}, {"keep_hourly", p.Hourly}, {"keep_daily", p.Daily},
		{"keep_weekly", p.Weekly}, {"keep_monthly", p.Monthly}, {"keep_yearly", p.Yearly}} {
		if c.n < 0 {
			return fmt.Errorf("%s is %d: a count must be 0 (rule off) or more", c.name, c.n)
		}
	}
	return nil
}

// String writes the policy the way restic's flags would.
func (p Policy) String() string {
	var parts []string
	for _, c := range []struct {
		name string
		n    int
	}{{"last", p.Last}, {"hourly", p.Hourly}, {"daily", p.Daily}, {"weekly", p.Weekly},
		{"monthly", p.Monthly}, {"yearly", p.Yearly}} {
		if c.n > 0 {
			parts = append(parts, fmt.Sprintf("keep %d %s", c.n, c.name))
		}
	}
	if !p.Within.Zero() {
		parts = append(parts, "keep within "+p.Within.String())
	}
	if len(parts) == 0 {
		return "keep everything"
	}
	return strings.Join(parts, ", ")
}

// Within is a keep-within span in restic's notation: years, months, days and
// hours, as in "1y5m7d2h" (m is months).
type Within struct{ Years, Months, Days, Hours int }

// Zero reports whether the span is empty (the rule is off).
func (w Within) Zero() bool { return w == Within{} }

func (w Within) String() string {
	if w.Zero() {
		return "0h"
	}
	var b strings.Builder
	for _, u := range []struct {
		n    int
		unit byte
	}{{w.Years, 'y'}, {w.Months, 'm'}, {w.Days, 'd'}, {w.Hours, 'h'}} {
		if u.n != 0 {
			b.WriteString(strconv.Itoa(u.n))
			b.WriteByte(u.unit)
		}
	}
	return b.String()
}

// ParseWithin parses restic's duration notation: one or more of a number
// followed by y (years), m (months), d (days) or h (hours), each unit at
// most once, e.g. "7d", "1y6m", "36h". An empty string is the zero span.
func ParseWithin(s string) (Within, error) {
	var w Within
	rest := strings.TrimSpace(s)
	seen := map[byte]bool{}
	for rest != "" {
		i := 0
		for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
			i++
		}
		if i == 0 || i == len(rest) {
			return Within{}, fmt.Errorf("keep_within %q: want numbers with a unit y, m (months), d or h, e.g. 7d or 1y6m", s)
		}
		n, err := strconv.Atoi(rest[:i])
		if err != nil {
			return Within{}, fmt.Errorf("keep_within %q: %w", s, err)
		}
		unit := rest[i]
		if seen[unit] {
			return Within{}, fmt.Errorf("keep_within %q: unit %c given twice", s, unit)
		}
		seen[unit] = true
		switch unit {
		case 'y':
			w.Years = n
		case 'm':
			w.Months = n
		case 'd':
			w.Days = n
		case 'h':
			w.Hours = n
		default:
			return Within{}, fmt.Errorf("keep_within %q: unknown unit %q: use y, m (months), d or h", s, unit)
		}
		rest = rest[i+1:]
	}
	return w, nil
}

// RetentionItem is one snapshot a policy decides about.
type RetentionItem struct {
	ID   string
	Time time.Time
}

// Decision is what a policy decided for one snapshot, and why it is kept
// (restic's reasons: "last snapshot", "hourly snapshot", "within 7d", ...).
type Decision struct {
	RetentionItem
	Keep    bool
	Reasons []string
}

// periodRule is one of the counted rules.
type periodRule struct {
	count  int
	reason string
	period func(t time.Time, index int) int
}

// Apply decides for every item, newest first (ties broken by id, highest
// first). It does not modify items.
func (p Policy) Apply(items []RetentionItem) []Decision {
	out := make([]Decision, len(items))
	for i, it := range items {
		out[i] = Decision{RetentionItem: it}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if !out[i].Time.Equal(out[j].Time) {
			return out[i].Time.After(out[j].Time)
		}
		return out[i].ID > out[j].ID
	})
	if len(out) == 0 {
		return out
	}
	if p.Empty() {
		for i := range out {
			out[i].Keep, out[i].Reasons = true, []string{"policy is empty"}
		}
		return out
	}
	loc := p.Location
	if loc == nil {
		loc = time.UTC
	}
	rules := p.rules()
	last := make([]int, len(rules))
	for i := range last {
		last[i] = -1
	}
	newest := out[0].Time.In(loc)
	cutoff := newest.AddDate(-p.Within.Years, -p.Within.Months, -p.Within.Days).Add(-time.Duration(p.Within.Hours) * time.Hour)
	for i := range out {
		d := &out[i]
		t := d.Time.In(loc)
		if !p.Within.Zero() && t.After(cutoff) {
			d.Keep = true
			d.Reasons = append(d.Reasons, "within "+p.Within.String())
		}
		for r := range rules {
			if rules[r].count <= 0 {
				continue
			}
			if v := rules[r].period(t, i); v != last[r] {
				last[r] = v
				rules[r].count--
				d.Keep = true
				d.Reasons = append(d.Reasons, rules[r].reason)
			}
		}
	}
	return out
}

func (p Policy) rules() []periodRule {
	return []periodRule{
		{p.Last, "last snapshot", func(_ time.Time, i int) int { return i }},
		{p.Hourly, "hourly snapshot", func(t time.Time, _ int) int {
			return t.Year()*1000000 + int(t.Month())*10000 + t.Day()*100 + t.Hour()
		}},
		{p.Daily, "daily snapshot", func(t time.Time, _ int) int {
			return t.Year()*10000 + int(t.Month())*100 + t.Day()
		}},
		{p.Weekly, "weekly snapshot", func(t time.Time, _ int) int {
			y, w := t.ISOWeek()
			return y*100 + w
		}},
		{p.Monthly, "monthly snapshot", func(t time.Time, _ int) int { return t.Year()*100 + int(t.Month()) }},
		{p.Yearly, "yearly snapshot", func(t time.Time, _ int) int { return t.Year() }},
	}
}
