package kubernetes_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/otelcol-chroma/otelcol-chroma/internal/testutil"
)

// The kustomizations the repository ships, relative to this folder.
var kustomizations = []string{"base", "overlays/telemetry-deployment", "drill"}

// kustomization is the part of kustomize's Kustomization these manifests use;
// decoding it strictly refuses anything else.
type kustomization struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Labels     []struct {
		Pairs map[string]string `json:"pairs"`
	} `json:"labels"`
	Resources          []string       `json:"resources"`
	ConfigMapGenerator []mapGenerator `json:"configMapGenerator"`
}

type mapGenerator struct {
	Name     string   `json:"name"`
	Behavior string   `json:"behavior"`
	Files    []string `json:"files"`
	Literals []string `json:"literals"`
}

// object is one decoded manifest.
type object struct {
	File string
	Kind string
	Name string
	Obj  any
}

// tree is what one kustomization produces: its objects and its ConfigMaps,
// generated or listed as resources (name -> key -> content).
type tree struct {
	Dir        string
	Objects    []object
	ConfigMaps map[string]map[string]string
}

// newObject returns an empty API object for a kind these manifests use.
func newObject(kind string) (any, bool) {
	switch kind {
	case "ServiceAccount":
		return &corev1.ServiceAccount{}, true
	case "Service":
		return &corev1.Service{}, true
	case "Secret":
		return &corev1.Secret{}, true
	case "ConfigMap":
		return &corev1.ConfigMap{}, true
	case "StatefulSet":
		return &appsv1.StatefulSet{}, true
	case "Deployment":
		return &appsv1.Deployment{}, true
	case "CronJob":
		return &batchv1.CronJob{}, true
	case "PodDisruptionBudget":
		return &policyv1.PodDisruptionBudget{}, true
	case "NetworkPolicy":
		return &networkingv1.NetworkPolicy{}, true
	case "PrometheusRule":
		return &prometheusRule{}, true
	}
	return nil, false
}

// prometheusRule is prometheus-operator's CRD; its spec is checked by
// Prometheus' rule parser in ./genrule.
type prometheusRule struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              struct {
		Groups []map[string]any `json:"groups"`
	} `json:"spec"`
}

// decodeStrict decodes every YAML document of b into its API type, refusing
// unknown and duplicate fields.
func decodeStrict(file string, b []byte) ([]object, error) {
	var out []object
	for i, doc := range bytes.Split(b, []byte("\n---\n")) {
		if len(bytes.TrimSpace(doc)) == 0 {
			continue
		}
		var tm metav1.TypeMeta
		if err := yaml.Unmarshal(doc, &tm); err != nil {
			return nil, fmt.Errorf("%s document %d: %w", file, i, err)
		}
		obj, ok := newObject(tm.Kind)
		if !ok {
			return nil, fmt.Errorf("%s document %d: kind %q is not one this test knows", file, i, tm.Kind)
		}
		if err := yaml.UnmarshalStrict(doc, obj); err != nil {
			return nil, fmt.Errorf("%s document %d (%s): %w", file, i, tm.Kind, err)
		}
		meta, _ := obj.(metav1.Object)
		if meta == nil || meta.GetName() == "" {
			return nil, fmt.Errorf("%s document %d (%s): no metadata.name", file, i, tm.Kind)
		}
		out = append(out, object{File: file, Kind: tm.Kind, Name: meta.GetName(), Obj: obj})
	}
	return out, nil
}

// load resolves a kustomization as kustomize would for what these manifests
// use: resources (files and folders of other kustomizations) and ConfigMap
// generators (files and literals, behavior create or replace). A file a
// generator names that is missing fails the test under
// REQUIRE_REAL_COMPONENTS=1 and skips it otherwise.
func load(t *testing.T, dir string) tree {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "kustomization.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var k kustomization
	if err := yaml.UnmarshalStrict(b, &k); err != nil {
		t.Fatalf("%s/kustomization.yaml: %v", dir, err)
	}
	if k.APIVersion != "kustomize.config.k8s.io/v1beta1" || k.Kind != "Kustomization" {
		t.Fatalf("%s/kustomization.yaml: %s %s is not a Kustomization", dir, k.APIVersion, k.Kind)
	}
	tr := tree{Dir: dir, ConfigMaps: map[string]map[string]string{}}
	for _, r := range k.Resources {
		p := filepath.Join(dir, r)
		if fi, err := os.Stat(p); err == nil && fi.IsDir() {
			sub := load(t, p)
			tr.Objects = append(tr.Objects, sub.Objects...)
			for name, data := range sub.ConfigMaps {
				tr.ConfigMaps[name] = data
			}
			continue
		}
		raw, err := os.ReadFile(p)
		if err != nil {
			t.Fatalf("%s/kustomization.yaml lists %s: %v", dir, r, err)
		}
		objs, err := decodeStrict(p, raw)
		if err != nil {
			t.Fatal(err)
		}
		tr.Objects = append(tr.Objects, objs...)
		for _, o := range objs {
			if cm, ok := o.Obj.(*corev1.ConfigMap); ok {
				tr.ConfigMaps[cm.Name] = cm.Data
			}
		}
	}
	for _, g := range k.ConfigMapGenerator {
		tr.ConfigMaps[g.Name] = generate(t, dir, g, tr.ConfigMaps[g.Name])
	}
	return tr
}

func generate(t *testing.T, dir string, g mapGenerator, existing map[string]string) map[string]string {
	t.Helper()
	switch {
	case g.Behavior == "replace" && existing == nil:
		t.Fatalf("%s: configMapGenerator %s replaces a ConfigMap the resources do not generate", dir, g.Name)
	case g.Behavior != "replace" && g.Behavior != "" && g.Behavior != "create":
		t.Fatalf("%s: configMapGenerator %s: behavior %q is not used here", dir, g.Name, g.Behavior)
	case g.Behavior != "replace" && existing != nil:
		t.Fatalf("%s: configMapGenerator %s is generated twice", dir, g.Name)
	}
	data := map[string]string{}
	for _, f := range g.Files {
		data[filepath.Base(f)] = string(readRequired(t, filepath.Join(dir, f)))
	}
	for _, l := range g.Literals {
		key, value, ok := strings.Cut(l, "=")
		if !ok {
			t.Fatalf("%s: configMapGenerator %s: literal %q has no '='", dir, g.Name, l)
		}
		data[key] = value
	}
	return data
}

// readRequired reads a file a manifest needs. The collector's configuration
// (base/collector.yaml) is the one that may not be there yet.
func readRequired(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err == nil {
		return b
	}
	if os.IsNotExist(err) && os.Getenv(testutil.EnvRequire) != "1" {
		t.Skipf("%s is missing (set %s=1 to fail instead)", path, testutil.EnvRequire)
	}
	t.Fatalf("%s, which a configMapGenerator names: %v", path, err)
	return nil
}
