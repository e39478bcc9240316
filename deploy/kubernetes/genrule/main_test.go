package main

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"
	"sigs.k8s.io/yaml"

	"github.com/otelcol-chroma/otelcol-chroma/internal/testutil"
)

func repoPath(t *testing.T, rel string) string {
	t.Helper()
	root, err := testutil.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Join(root, rel)
}

// The committed PrometheusRule is what the rule files produce today.
func TestPrometheusRuleMatchesRuleFiles(t *testing.T) {
	want, err := Render(repoPath(t, rulesDir))
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(repoPath(t, outputFile))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s differs from rules/*.yml: run make generate-deploy and commit the result", outputFile)
	}
}

// The PrometheusRule's spec is a rule file Prometheus' own parser accepts
// strictly, with every group of the rule files and no group name twice.
func TestPrometheusRuleLoadsAsRules(t *testing.T) {
	b, err := os.ReadFile(repoPath(t, outputFile))
	if err != nil {
		t.Fatal(err)
	}
	var obj struct {
		APIVersion string         `json:"apiVersion"`
		Kind       string         `json:"kind"`
		Metadata   map[string]any `json:"metadata"`
		Spec       map[string]any `json:"spec"`
	}
	if err := yaml.UnmarshalStrict(b, &obj); err != nil {
		t.Fatal(err)
	}
	if obj.APIVersion != "monitoring.coreos.com/v1" || obj.Kind != "PrometheusRule" || obj.Metadata["name"] == "" {
		t.Fatalf("not a named PrometheusRule: %s %s %v", obj.APIVersion, obj.Kind, obj.Metadata)
	}
	spec, err := yaml.Marshal(obj.Spec)
	if err != nil {
		t.Fatal(err)
	}
	groups, errs := rulefmt.Parse(spec, false, model.UTF8Validation, parser.NewParser(parser.Options{}), slog.New(slog.DiscardHandler))
	if len(errs) > 0 {
		t.Fatalf("spec does not load as Prometheus rules: %v", errs)
	}
	seen := map[string]bool{}
	for _, g := range groups.Groups {
		if seen[g.Name] {
			t.Errorf("rule group %q appears twice", g.Name)
		}
		seen[g.Name] = true
	}
	files, _ := filepath.Glob(repoPath(t, filepath.Join(rulesDir, "*.yml")))
	for _, f := range files {
		items, err := ruleGroups(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, item := range items {
			var g rulefmt.RuleGroup
			if err := item.Decode(&g); err != nil {
				t.Fatal(err)
			}
			if !seen[g.Name] {
				t.Errorf("group %q of %s is missing", g.Name, f)
			}
		}
	}
}
