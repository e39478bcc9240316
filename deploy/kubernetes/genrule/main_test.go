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

// The committed ConfigMap of rule files is what the rule files produce today,
// and each of its keys is one rule file, byte for byte; alertmanager.yml (no
// rule groups) is not one of them.
func TestRuleConfigMapMatchesRuleFiles(t *testing.T) {
	want, err := RenderConfigMap(repoPath(t, rulesDir))
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(repoPath(t, configMapFile))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s differs from rules/*.yml: run make generate-deploy and commit the result", configMapFile)
	}
	var cm struct {
		Kind     string            `json:"kind"`
		Metadata map[string]string `json:"metadata"`
		Data     map[string]string `json:"data"`
	}
	if err := yaml.Unmarshal(got, &cm); err != nil {
		t.Fatal(err)
	}
	if cm.Kind != "ConfigMap" || cm.Metadata["name"] != configMapName {
		t.Fatalf("not the ConfigMap %s: %s %v", configMapName, cm.Kind, cm.Metadata)
	}
	files, err := ruleFiles(repoPath(t, rulesDir))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		text, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if name := filepath.Base(f); cm.Data[name] != string(text) {
			t.Errorf("key %s is not rules/%s as it is", name, name)
		}
	}
	if _, ok := cm.Data["alertmanager.yml"]; ok || len(cm.Data) != len(files) || len(files) < 3 {
		t.Errorf("keys of %v: want the rule files (chroma, otelcol, thresholds) only", len(cm.Data))
	}
}
