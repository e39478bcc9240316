package snapshot

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// resticBinary returns restic's path; without it the test is skipped, or
// fails under REQUIRE_REAL_COMPONENTS=1.
func resticBinary(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("restic")
	if err != nil {
		if os.Getenv("REQUIRE_REAL_COMPONENTS") == "1" {
			t.Fatalf("REQUIRE_REAL_COMPONENTS=1 but restic is not installed: run scripts/install-restic.sh")
		}
		t.Skip("restic is not installed (scripts/install-restic.sh); set REQUIRE_REAL_COMPONENTS=1 to fail instead")
	}
	return p
}

const resticPassword = "differential"

// resticRepo is a tiny restic repository whose snapshots differ only in time
// and host.
type resticRepo struct {
	bin, dir, data string
	env            []string
}

func newResticRepo(ctx context.Context, t *testing.T, bin, zone string) *resticRepo {
	t.Helper()
	tmp := t.TempDir()
	r := &resticRepo{bin: bin, dir: filepath.Join(tmp, "repo"), data: filepath.Join(tmp, "data")}
	if err := os.MkdirAll(r.data, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(r.data, "f"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	r.env = append(os.Environ(), "RESTIC_PASSWORD="+resticPassword, "RESTIC_REPOSITORY="+r.dir,
		"RESTIC_CACHE_DIR="+filepath.Join(tmp, "cache"), "TZ="+zone)
	r.run(ctx, t, "init")
	if err := cheapenResticKey(r.dir, resticPassword); err != nil {
		t.Fatal(err)
	}
	return r
}

func (r *resticRepo) run(ctx context.Context, t *testing.T, args ...string) []byte {
	cmd := exec.CommandContext(ctx, r.bin, append([]string{"-q"}, args...)...)
	cmd.Env = r.env
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Errorf("restic %s: %v\n%s", strings.Join(args, " "), err, errb.String())
		return nil
	}
	return out.Bytes()
}

// backup makes one snapshot per time for host, four processes at a time
// (backups take restic's shared lock).
func (r *resticRepo) backup(ctx context.Context, t *testing.T, host string, times []time.Time, loc *time.Location) {
	sem := make(chan struct{}, 4)
	var wg sync.WaitGroup
	for _, tm := range times {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			r.run(ctx, t, "backup", "--host", host, "--time", tm.In(loc).Format(time.DateTime), r.data)
		}()
	}
	wg.Wait()
}

// forget runs `restic forget --dry-run --json` and returns, per host, the
// Unix times of the snapshots restic keeps.
func (r *resticRepo) forget(ctx context.Context, t *testing.T, flags []string) map[string][]int64 {
	out := r.run(ctx, t, append([]string{"forget", "--dry-run", "--json", "--group-by", "host"}, flags...)...)
	var groups []struct {
		Host string `json:"host"`
		Keep []struct {
			Time time.Time `json:"time"`
		} `json:"keep"`
	}
	if err := json.Unmarshal(out, &groups); err != nil {
		t.Fatalf("restic forget output: %v\n%s", err, out)
	}
	kept := map[string][]int64{}
	for _, g := range groups {
		for _, k := range g.Keep {
			kept[g.Host] = append(kept[g.Host], k.Time.Unix())
		}
		slices.Sort(kept[g.Host])
	}
	return kept
}

// randomTimes draws n distinct whole-second times over span before end,
// clustered so that some hours, days and weeks hold several snapshots and
// others none. Times that are ambiguous or missing in loc's wall clock (DST
// changes) are left out: restic's --time is a wall-clock time.
func randomTimes(rng *rand.Rand, n int, end time.Time, span time.Duration, loc *time.Location) []time.Time {
	seen := map[int64]bool{}
	var out []time.Time
	for len(out) < n {
		center := end.Add(-time.Duration(rng.Int64N(int64(span))))
		tm := center.Add(-time.Duration(rng.Int64N(int64(3 * time.Hour)))).Truncate(time.Second)
		back, err := time.ParseInLocation(time.DateTime, tm.In(loc).Format(time.DateTime), loc)
		if err != nil || !back.Equal(tm) || seen[tm.Unix()] {
			continue
		}
		seen[tm.Unix()] = true
		out = append(out, tm)
	}
	return out
}

type resticCase struct {
	flags  []string
	policy Policy
}

func resticCases(t *testing.T) []resticCase {
	within := func(s string) Within {
		w, err := ParseWithin(s)
		if err != nil {
			t.Fatal(err)
		}
		return w
	}
	return []resticCase{
		{[]string{"--keep-last", "5"}, Policy{Last: 5}},
		{[]string{"--keep-hourly", "24", "--keep-daily", "7", "--keep-weekly", "4", "--keep-monthly", "3"},
			Policy{Hourly: 24, Daily: 7, Weekly: 4, Monthly: 3}},
		{[]string{"--keep-daily", "10", "--keep-weekly", "6"}, Policy{Daily: 10, Weekly: 6}},
		{[]string{"--keep-last", "2", "--keep-monthly", "4", "--keep-yearly", "2"}, Policy{Last: 2, Monthly: 4, Yearly: 2}},
		{[]string{"--keep-within", "2d12h", "--keep-weekly", "3"}, Policy{Within: within("2d12h"), Weekly: 3}},
		{[]string{"--keep-within", "1m3d", "--keep-hourly", "5"}, Policy{Within: within("1m3d"), Hourly: 5}},
	}
}

// TestRetentionMatchesRestic applies the same policies to the same snapshot
// times with the real restic (`forget --dry-run --json` on snapshots made
// by `backup --time`) and with Policy.Apply, per host as restic groups them,
// in a time zone with daylight saving time.
func TestRetentionMatchesRestic(t *testing.T) {
	bin := resticBinary(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	const zone = "Europe/Berlin"
	loc, err := time.LoadLocation(zone)
	if err != nil {
		t.Fatal(err)
	}
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("RETENTION_SEED"); s != "" {
		fmt.Sscan(s, &seed)
	}
	t.Logf("seed %d (rerun with RETENTION_SEED=%d)", seed, seed)
	rng := rand.New(rand.NewPCG(seed, 0))
	end := time.Date(2025, 11, 2, 12, 0, 0, 0, time.UTC).Add(time.Duration(rng.Int64N(int64(400 * 24 * time.Hour))))
	sets := map[string][]time.Time{
		// hours apart over two weeks, days apart over half a year, and
		// weeks apart over three years (with the year's ISO-week edges)
		"hours": randomTimes(rng, 80, end, 14*24*time.Hour, loc),
		"days":  randomTimes(rng, 70, end, 180*24*time.Hour, loc),
		"years": randomTimes(rng, 50, end, 3*365*24*time.Hour, loc),
	}
	repo := newResticRepo(ctx, t, bin, zone)
	for host, times := range sets {
		repo.backup(ctx, t, host, times, loc)
	}
	if t.Failed() {
		t.FailNow()
	}
	for _, c := range resticCases(t) {
		want := repo.forget(ctx, t, c.flags)
		c.policy.Location = loc
		for host, times := range sets {
			got := keptTimes(c.policy, times)
			if !slices.Equal(got, want[host]) {
				t.Errorf("%s, host %s (%d snapshots): restic keeps %d, we keep %d\nrestic only: %v\nours only:   %v",
					strings.Join(c.flags, " "), host, len(times), len(want[host]), len(got),
					onlyIn(want[host], got, loc), onlyIn(got, want[host], loc))
			}
		}
	}
}

func keptTimes(p Policy, times []time.Time) []int64 {
	items := make([]RetentionItem, len(times))
	for i, tm := range times {
		items[i] = RetentionItem{ID: fmt.Sprint(i), Time: tm}
	}
	var kept []int64
	for _, d := range p.Apply(items) {
		if d.Keep {
			kept = append(kept, d.Time.Unix())
		}
	}
	sort.Slice(kept, func(i, j int) bool { return kept[i] < kept[j] })
	return kept
}

func onlyIn(a, b []int64, loc *time.Location) []string {
	var out []string
	for _, x := range a {
		if !slices.Contains(b, x) {
			out = append(out, time.Unix(x, 0).In(loc).Format(time.DateTime))
		}
	}
	return out
}
