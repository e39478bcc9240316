package kubernetes_test

import (
	"errors"
	"fmt"
	"net"
	"os/exec"
	"reflect"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"sigs.k8s.io/yaml"

	"github.com/otelcol-chroma/otelcol-chroma/internal/testutil"
)

// Every manifest decodes strictly into its API type, every mount, ConfigMap,
// Secret key and probe port it names exists, and every container is
// non-root with limited memory.
func TestManifestsCrossReferences(t *testing.T) {
	sec := secrets(t)
	for _, dir := range kustomizations {
		t.Run(dir, func(t *testing.T) {
			tr := load(t, dir)
			ps := pods(t, tr)
			if len(ps) == 0 {
				t.Fatal("no workload")
			}
			for _, p := range ps {
				checkVolumes(t, p, tr, sec)
				for _, c := range p.Spec.Containers {
					checkContainer(t, p, c, containerEnv(t, p.Where, c, tr, sec))
				}
			}
			checkSelectors(t, tr, ps)
		})
	}
}

// checkSelectors: Services, PodDisruptionBudgets and NetworkPolicies select
// a pod of the same kustomization, and the ports they name are its ports.
func checkSelectors(t *testing.T, tr tree, ps []pod) {
	t.Helper()
	find := func(o object, selector map[string]string) *pod {
		for i := range ps {
			if selects(selector, ps[i].Labels) {
				return &ps[i]
			}
		}
		t.Errorf("%s: selector %v selects no pod", describe(o), selector)
		return nil
	}
	for _, o := range tr.Objects {
		switch v := o.Obj.(type) {
		case *corev1.Service:
			if p := find(o, v.Spec.Selector); p != nil {
				for _, sp := range v.Spec.Ports {
					requirePort(t, o, p, sp.TargetPort.StrVal)
				}
			}
		case *policyv1.PodDisruptionBudget:
			find(o, v.Spec.Selector.MatchLabels)
		case *networkingv1.NetworkPolicy:
			if p := find(o, v.Spec.PodSelector.MatchLabels); p != nil {
				for _, in := range v.Spec.Ingress {
					for _, np := range in.Ports {
						requirePort(t, o, p, np.Port.StrVal)
					}
				}
			}
		}
	}
}

func requirePort(t *testing.T, o object, p *pod, name string) {
	t.Helper()
	if name == "" {
		t.Errorf("%s: ports are named, not numbered, so that they follow the containers", describe(o))
		return
	}
	for _, c := range p.Spec.Containers {
		for _, cp := range c.Ports {
			if cp.Name == name {
				return
			}
		}
	}
	t.Errorf("%s: port %q is no container port of %s", describe(o), name, p.Where)
}

// The collector's configuration and the manifests agree: every variable it
// reads without a default is set, health_check listens where the probes
// knock (not on the loopback, which kubelet cannot reach) on the path they
// ask, the OTLP receivers listen on the container's OTLP ports, and Chroma's
// OTLP endpoint reaches them.
func TestCollectorConfigMatchesManifests(t *testing.T) {
	sec := secrets(t)
	for _, dir := range []string{"base", "overlays/telemetry-deployment"} {
		t.Run(dir, func(t *testing.T) {
			tr := load(t, dir)
			n := 0
			for _, p := range pods(t, tr) {
				for _, c := range p.Spec.Containers {
					if c.Name != "otel-collector" {
						continue
					}
					n++
					checkCollector(t, tr, p, c, containerEnv(t, p.Where, c, tr, sec))
				}
			}
			if n == 0 {
				t.Fatal("no otel-collector container")
			}
			checkChromaEndpoint(t, tr)
		})
	}
}

func checkCollector(t *testing.T, tr tree, p pod, c corev1.Container, env map[string]string) {
	t.Helper()
	where := p.Where + "/" + c.Name
	cfg := resolveCollectorArgs(t, where, p, c, tr, env)
	ports := map[string]int32{}
	for _, cp := range c.Ports {
		ports[cp.Name] = cp.ContainerPort
	}
	checkListener(t, where, "health_check", cfg.str("extensions", "health_check", "endpoint"), ports["health"], true)
	wantPath := cfg.str("extensions", "health_check", "path")
	if wantPath == "" {
		wantPath = "/"
	}
	for _, probe := range []*corev1.Probe{c.LivenessProbe, c.ReadinessProbe} {
		if probe == nil || probe.HTTPGet == nil || probe.HTTPGet.Path != wantPath || probe.HTTPGet.Port.StrVal != "health" {
			t.Errorf("%s: want liveness and readiness probes on path %s of port health, got %+v", where, wantPath, probe)
		}
	}
	protocols, _ := cfg.get("receivers", "otlp", "protocols")
	for _, proto := range []string{"grpc", "http"} {
		endpoint := cfg.str("receivers", "otlp", "protocols", proto, "endpoint")
		_, listens := protocols.(map[string]any)[proto]
		if _, exposed := ports["otlp-"+proto]; listens != exposed {
			t.Errorf("%s: OTLP/%s configured %v, container port otlp-%s %v", where, proto, listens, proto, exposed)
		}
		if listens {
			checkListener(t, where, "OTLP/"+proto, endpoint, ports["otlp-"+proto], p.Where != "StatefulSet chroma")
		}
	}
	if host, port, ok := cfg.telemetryListener(); ok {
		checkListener(t, where, "the collector's own metrics", net.JoinHostPort(host, port), ports["metrics"], true)
	}
	checkMemory(t, where, cfg, env)
	cfg.walkStrings(func(key, v string) {
		if strings.HasPrefix(v, "/") && !fileMounted(c, v) {
			t.Errorf("%s: the configuration's %s is %s, on no mount (the root filesystem is read-only)", where, key, v)
		}
	})
}

// resolveCollectorArgs reads the container's --config arguments: the first
// names a mounted ConfigMap key, later ones are yaml: overrides. Every
// variable the configuration reads without a default must be set.
func resolveCollectorArgs(t *testing.T, where string, p pod, c corev1.Container, tr tree, env map[string]string) collectorConfig {
	t.Helper()
	if len(c.Args) == 0 || !strings.HasPrefix(c.Args[0], "--config=/") {
		t.Fatalf("%s: args %v, want --config=/path first", where, c.Args)
	}
	text, ok := mountedFile(p, c, tr, strings.TrimPrefix(c.Args[0], "--config="))
	if !ok {
		t.Fatalf("%s: %s is not a mounted ConfigMap key", where, c.Args[0])
	}
	for _, name := range requiredEnv(text) {
		if _, ok := env[name]; !ok {
			t.Errorf("%s: the collector configuration reads ${env:%s}, which the container does not set", where, name)
		}
	}
	cfg := expandCollectorConfig(t, text, env)
	for _, a := range c.Args[1:] {
		override, ok := strings.CutPrefix(a, "--config=yaml:")
		if !ok {
			t.Fatalf("%s: argument %q: want --config=yaml:key::path: value", where, a)
		}
		cfg.set(t, override)
	}
	return cfg
}

// checkListener: an endpoint listens on the container port that exposes it,
// and not on the loopback when something outside the pod must reach it.
func checkListener(t *testing.T, where, what, endpoint string, containerPort int32, reachable bool) {
	t.Helper()
	host, port := hostPort(t, endpoint)
	if port != containerPort {
		t.Errorf("%s: %s listens on port %d, its container port is %d", where, what, port, containerPort)
	}
	if reachable && isLoopback(host) {
		t.Errorf("%s: %s listens on %s, which nothing outside the pod (kubelet, Prometheus, Chroma's pod) can reach", where, what, host)
	}
}

// checkMemory: memory_limiter refuses data before the Go runtime's soft
// limit, which is below the container's limit (checkContainer).
func checkMemory(t *testing.T, where string, cfg collectorConfig, env map[string]string) {
	t.Helper()
	v, ok := cfg.get("processors", "memory_limiter", "limit_mib")
	if !ok {
		t.Errorf("%s: no memory_limiter::limit_mib", where)
		return
	}
	limiter := resource.MustParse(fmt.Sprintf("%vMi", v))
	gml, ok := env["GOMEMLIMIT"]
	if !ok {
		t.Errorf("%s: GOMEMLIMIT is not set", where)
		return
	}
	soft, err := resource.ParseQuantity(strings.TrimSuffix(gml, "B"))
	if err != nil || limiter.Cmp(soft) >= 0 {
		t.Errorf("%s: memory_limiter's limit %s must be below GOMEMLIMIT %s (%v)", where, limiter.String(), gml, err)
	}
}

// checkChromaEndpoint: Chroma's open_telemetry endpoint is the sidecar's
// OTLP/gRPC port on the loopback, or a Service's port that leads to it.
func checkChromaEndpoint(t *testing.T, tr tree) {
	t.Helper()
	var chroma struct {
		OpenTelemetry struct {
			ServiceName string `json:"service_name"`
			Endpoint    string `json:"endpoint"`
		} `json:"open_telemetry"`
		PersistPath   string `json:"persist_path"`
		Port          int    `json:"port"`
		ListenAddress string `json:"listen_address"`
	}
	if err := yaml.UnmarshalStrict([]byte(tr.ConfigMaps["chroma-config"]["chroma.yaml"]), &chroma); err != nil {
		t.Fatalf("chroma.yaml: %v", err)
	}
	host, port := hostPort(t, chroma.OpenTelemetry.Endpoint)
	if isLoopback(host) {
		if port != 4317 {
			t.Errorf("Chroma sends OTLP to port %d of the loopback, the sidecar's OTLP/gRPC port is 4317", port)
		}
		return
	}
	for _, o := range tr.Objects {
		if svc, ok := o.Obj.(*corev1.Service); ok && svc.Name == host {
			for _, sp := range svc.Spec.Ports {
				if sp.Port == port && sp.TargetPort.StrVal == "otlp-grpc" {
					return
				}
			}
		}
	}
	t.Errorf("Chroma sends OTLP to %s, which is no Service port leading to otlp-grpc", chroma.OpenTelemetry.Endpoint)
}

// The overlay's telemetry-only configuration defines each component exactly
// as the base's collector.yaml does, so the two cannot drift apart.
func TestTelemetryConfigSharesTheBaseDefinitions(t *testing.T) {
	base := parseYAML(t, readRequired(t, "base/collector.yaml"))
	overlay := parseYAML(t, readRequired(t, "overlays/telemetry-deployment/collector-telemetry.yaml"))
	for _, section := range []string{"receivers", "processors", "exporters", "extensions"} {
		ours, _ := overlay[section].(map[string]any)
		theirs, _ := base[section].(map[string]any)
		for id, def := range ours {
			if !reflect.DeepEqual(def, theirs[id]) {
				t.Errorf("%s::%s differs from base/collector.yaml's", section, id)
			}
		}
	}
}

func parseYAML(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := yaml.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// kustomize itself (kubectl kustomize) builds every kustomization, and what
// it renders decodes strictly too.
func TestKustomizeBuilds(t *testing.T) {
	kubectl := testutil.Command(t, "install kubectl (it carries kustomize) to build the manifests", "kubectl")
	readRequired(t, "base/collector.yaml")
	for _, dir := range kustomizations {
		t.Run(dir, func(t *testing.T) {
			out, err := exec.Command(kubectl, "kustomize", dir).Output()
			if err != nil {
				var stderr string
				if ee := (*exec.ExitError)(nil); errors.As(err, &ee) {
					stderr = string(ee.Stderr)
				}
				t.Fatalf("kubectl kustomize %s: %v\n%s", dir, err, stderr)
			}
			objs, err := decodeStrict(dir+" (built)", out)
			if err != nil {
				t.Fatal(err)
			}
			if len(objs) == 0 {
				t.Fatal("kustomize rendered nothing")
			}
		})
	}
}
