package rules

import (
	"log/slog"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"
	"go.yaml.in/yaml/v3"
)

const (
	runbookBase     = "https://github.com/otelcol-chroma/otelcol-chroma/blob/main/README.md#"
	thresholdMetric = "chroma_alert_threshold"
	resolvedMetric  = "instance:chroma_alert_threshold:resolved"
)

// loadRules parses every rule file with the rule parser of the Prometheus
// library the collector links (the one the in-process evaluator uses).
func loadRules(t *testing.T) map[string][]rulefmt.Rule {
	t.Helper()
	p := parser.NewParser(parser.Options{})
	byFile := map[string][]rulefmt.Rule{}
	for _, f := range ruleFiles(t) {
		groups, errs := rulefmt.ParseFile(f, false, model.UTF8Validation, p, slog.New(slog.DiscardHandler))
		if len(errs) > 0 {
			t.Fatalf("%s does not load: %v", f, errs)
		}
		for _, g := range groups.Groups {
			byFile[f] = append(byFile[f], g.Rules...)
		}
	}
	return byFile
}

func alerts(byFile map[string][]rulefmt.Rule) []rulefmt.Rule {
	var out []rulefmt.Rule
	for _, rules := range byFile {
		for _, r := range rules {
			if r.Alert != "" {
				out = append(out, r)
			}
		}
	}
	return out
}

func TestEveryAlertHasSeverityAnnotationsAndRunbook(t *testing.T) {
	anchors := readmeAnchors(t)
	for _, a := range alerts(loadRules(t)) {
		if s := a.Labels["severity"]; s != "critical" && s != "warning" {
			t.Errorf("%s: severity %q, want critical or warning", a.Alert, s)
		}
		for _, k := range []string{"summary", "description", "runbook_url"} {
			if strings.TrimSpace(a.Annotations[k]) == "" {
				t.Errorf("%s: annotation %s missing", a.Alert, k)
			}
		}
		want := runbookBase + strings.ToLower(a.Alert)
		if got := a.Annotations["runbook_url"]; got != want {
			t.Errorf("%s: runbook_url %q, want %q", a.Alert, got, want)
		}
		if !anchors[strings.ToLower(a.Alert)] {
			t.Errorf("%s: README.md has no heading %q for its runbook_url", a.Alert, a.Alert)
		}
	}
}

// readmeAnchors returns the anchors GitHub gives the README's headings.
func readmeAnchors(t *testing.T) map[string]bool {
	t.Helper()
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	punct := regexp.MustCompile(`[^\p{L}\p{N} _-]`)
	anchors := map[string]bool{}
	for _, line := range strings.Split(string(b), "\n") {
		if !strings.HasPrefix(line, "#") {
			continue
		}
		h := strings.TrimSpace(strings.TrimLeft(line, "#"))
		h = punct.ReplaceAllString(strings.ToLower(h), "")
		anchors[strings.ReplaceAll(h, " ", "-")] = true
	}
	return anchors
}

// Every threshold an expression reads has a default in thresholds.yml and a
// rule that resolves it per instance; otherwise its alert never fires.
func TestEveryThresholdHasADefault(t *testing.T) {
	byFile := loadRules(t)
	defaults, resolved := map[string]bool{}, map[string]bool{}
	for _, r := range byFile["thresholds.yml"] {
		switch r.Record {
		case thresholdMetric:
			if _, ok := r.Labels["instance"]; !ok {
				defaults[r.Labels["threshold"]] = true
			}
		case resolvedMetric:
			resolved[r.Labels["threshold"]] = true
		}
	}
	used := thresholdsRead(t, byFile)
	if len(used) == 0 {
		t.Fatal("no expression reads a threshold")
	}
	for name := range used {
		if !defaults[name] {
			t.Errorf("threshold %q is read but has no default in thresholds.yml", name)
		}
		if !resolved[name] {
			t.Errorf("threshold %q is read but no %s rule resolves it", name, resolvedMetric)
		}
	}
	for name := range defaults {
		if !used[name] {
			t.Errorf("threshold %q has a default but no alert reads it", name)
		}
	}
}

// thresholdsRead returns the threshold names alert expressions select.
func thresholdsRead(t *testing.T, byFile map[string][]rulefmt.Rule) map[string]bool {
	t.Helper()
	p := parser.NewParser(parser.Options{})
	used := map[string]bool{}
	for _, a := range alerts(byFile) {
		expr, err := p.ParseExpr(a.Expr)
		if err != nil {
			t.Fatalf("%s: %v", a.Alert, err)
		}
		parser.Inspect(expr, func(n parser.Node, _ []parser.Node) error {
			vs, ok := n.(*parser.VectorSelector)
			if !ok || vs.Name != resolvedMetric {
				return nil
			}
			for _, m := range vs.LabelMatchers {
				if m.Name == "threshold" && m.Type == labels.MatchEqual {
					used[m.Value] = true
				}
			}
			return nil
		})
	}
	return used
}

// promtool test files, as far as these checks read them.
type unitTestFile struct {
	Tests []struct {
		AlertRuleTest []struct {
			Alertname string           `yaml:"alertname"`
			ExpAlerts []map[string]any `yaml:"exp_alerts"`
		} `yaml:"alert_rule_test"`
	} `yaml:"tests"`
}

// Every alert has a promtool test where it fires and one where it stays
// silent.
func TestEveryAlertIsUnitTested(t *testing.T) {
	fires, silent := map[string]bool{}, map[string]bool{}
	for _, f := range unitTestFiles(t) {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var u unitTestFile
		if err := yaml.Unmarshal(b, &u); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for _, tg := range u.Tests {
			for _, at := range tg.AlertRuleTest {
				if len(at.ExpAlerts) > 0 {
					fires[at.Alertname] = true
				} else {
					silent[at.Alertname] = true
				}
			}
		}
	}
	for _, a := range alerts(loadRules(t)) {
		if !fires[a.Alert] {
			t.Errorf("%s: no promtool test where it fires", a.Alert)
		}
		if !silent[a.Alert] {
			t.Errorf("%s: no promtool test where it stays silent", a.Alert)
		}
	}
}
