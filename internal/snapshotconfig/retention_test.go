package snapshotconfig

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/provider/envprovider"
	"go.opentelemetry.io/collector/confmap/provider/fileprovider"

	"github.com/otelcol-chroma/otelcol-chroma/internal/snapshot"
)

func readSettings(t *testing.T, yaml string) Settings {
	t.Helper()
	p := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(p, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	s, found, err := FromCollectorConfig(context.Background(), []string{"file:" + p}, []confmap.ProviderFactory{fileprovider.NewFactory(), envprovider.NewFactory()}, "")
	if err != nil || !found {
		t.Fatalf("read %s: found %v, %v", yaml, found, err)
	}
	return s
}

// TestRetentionDefaults: keys left out keep the defaults; 0 turns a rule off.
func TestRetentionDefaults(t *testing.T) {
	s := readSettings(t, "extensions:\n  snapshot:\n    bucket: {url: file:///tmp/b}\n")
	p, scope, err := s.Retention.Policy()
	if err != nil {
		t.Fatal(err)
	}
	want := snapshot.Policy{Hourly: 24, Daily: 7, Weekly: 4, Monthly: 3}
	if p.Location.String() != "UTC" || scope != snapshot.ScopeInstance {
		t.Fatalf("zone %s, scope %s", p.Location, scope)
	}
	if p.Location = nil; p != want {
		t.Fatalf("default policy %+v, want %+v", p, want)
	}
	s = readSettings(t, `extensions:
  snapshot:
    bucket: {url: file:///tmp/b}
    retention: {keep_hourly: 0, keep_within: 2d, time_zone: Europe/Berlin, scope: per_instance}
`)
	p, scope, err = s.Retention.Policy()
	if err != nil {
		t.Fatal(err)
	}
	if p.Hourly != 0 || p.Daily != 7 || p.Within != (snapshot.Within{Days: 2}) || p.Location.String() != "Europe/Berlin" || scope != snapshot.ScopePerInstance {
		t.Fatalf("policy %+v in %s, scope %s", p, p.Location, scope)
	}
}

func TestRetentionValidate(t *testing.T) {
	for _, c := range []struct {
		r    RetentionSettings
		want string
	}{
		{RetentionSettings{KeepDaily: -2}, `"retention": keep_daily is -2`},
		{RetentionSettings{KeepWithin: "30s"}, `"retention::keep_within"`},
		{RetentionSettings{TimeZone: "Mars/Olympus"}, `"retention::time_zone" "Mars/Olympus" is not a time zone`},
		{RetentionSettings{Scope: "everything"}, `"retention::scope": unknown scope "everything"`},
	} {
		s := Settings{Bucket: BucketSettings{URL: "file:///tmp/b"}, Retention: c.r}
		if err := s.Validate(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: got %v, want %q", c.r, err, c.want)
		}
	}
}
