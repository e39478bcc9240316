package dashboard_test

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
)

const dashboardFile = "otelcol-chroma.json"

type dashboard struct {
	Title  string  `json:"title"`
	UID    string  `json:"uid"`
	Panels []panel `json:"panels"`
}

type panel struct {
	ID      int    `json:"id"`
	Type    string `json:"type"`
	Title   string `json:"title"`
	Targets []struct {
		RefID string `json:"refId"`
		Expr  string `json:"expr"`
	} `json:"targets"`
}

func loadDashboard(t *testing.T) dashboard {
	t.Helper()
	b, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	var d dashboard
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("%s: %v", dashboardFile, err)
	}
	return d
}

// queryPanels returns the panels that query Prometheus (not rows).
func queryPanels(t *testing.T, d dashboard) []panel {
	t.Helper()
	var out []panel
	seen := map[int]bool{}
	for _, p := range d.Panels {
		if seen[p.ID] {
			t.Errorf("panel id %d used twice", p.ID)
		}
		seen[p.ID] = true
		if p.Type == "row" {
			continue
		}
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		out = append(out, p)
	}
	return out
}

// expand replaces the dashboard's variables with what Grafana sends when
// every instance is selected.
func expand(expr string) string {
	return strings.NewReplacer(
		"$instance", ".+",
		"$job", "otelcol-chroma.*",
		"$__rate_interval", "1m",
	).Replace(expr)
}

// metricNames returns the metric names an expression reads, from its name
// or its __name__ matcher (a regular expression counts by its text).
func metricNames(expr parser.Expr) []string {
	var names []string
	parser.Inspect(expr, func(node parser.Node, _ []parser.Node) error {
		vs, ok := node.(*parser.VectorSelector)
		if !ok {
			return nil
		}
		for _, m := range vs.LabelMatchers {
			if m.Name == labels.MetricName {
				names = append(names, m.Value)
			}
		}
		return nil
	})
	return names
}

// Every panel's query parses with Prometheus' parser, and the dashboard
// shows every quantity the operators asked for.
func TestDashboardQueriesParse(t *testing.T) {
	want := []string{
		"chroma_backup_last_success_time_seconds", "chroma_backup_age_seconds",
		"chroma_backup_size_bytes", "chroma_backup_count",
		"chroma_backup_restore_test_last_success_time_seconds", "chroma_backup_restore_test_duration_seconds",
		"chroma_backup_consecutive_failures", "chroma_backup_last_attempt_success",
		"chroma_bucket_size_bytes", "chroma_persist_volume_available_bytes", "chroma_persist_volume_size_bytes",
		"otelcol_receiver_accepted_spans", "otelcol_exporter_sent_spans",
		"otelcol_exporter_send_failed_spans", "otelcol_exporter_queue_size",
	}
	read := map[string]bool{}
	p := parser.NewParser(parser.Options{})
	for _, pn := range queryPanels(t, loadDashboard(t)) {
		for _, tg := range pn.Targets {
			expr, err := p.ParseExpr(expand(tg.Expr))
			if err != nil {
				t.Errorf("panel %q query %s: %v", pn.Title, tg.RefID, err)
				continue
			}
			for _, n := range metricNames(expr) {
				read[strings.TrimSuffix(n, "(_total)?")] = true
			}
		}
	}
	for _, name := range want {
		if !read[name] {
			t.Errorf("no panel reads %s", name)
		}
	}
}
