package kubernetes_test

import (
	"fmt"
	"os"
	"path"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"sigs.k8s.io/yaml"
)

// pod is the pod template of a workload.
type pod struct {
	Where  string // "StatefulSet chroma"
	Labels map[string]string
	Spec   *corev1.PodSpec
	Claims []string // volumeClaimTemplates
}

func pods(t *testing.T, tr tree) []pod {
	t.Helper()
	var out []pod
	for _, o := range tr.Objects {
		where := o.Kind + " " + o.Name
		switch w := o.Obj.(type) {
		case *appsv1.StatefulSet:
			var claims []string
			for _, c := range w.Spec.VolumeClaimTemplates {
				claims = append(claims, c.Name)
			}
			checkSelects(t, where, w.Spec.Selector.MatchLabels, w.Spec.Template.Labels)
			out = append(out, pod{where, w.Spec.Template.Labels, &w.Spec.Template.Spec, claims})
		case *appsv1.Deployment:
			checkSelects(t, where, w.Spec.Selector.MatchLabels, w.Spec.Template.Labels)
			out = append(out, pod{where, w.Spec.Template.Labels, &w.Spec.Template.Spec, nil})
		case *batchv1.CronJob:
			tpl := w.Spec.JobTemplate.Spec.Template
			out = append(out, pod{where, tpl.Labels, &tpl.Spec, nil})
		}
	}
	return out
}

func checkSelects(t *testing.T, where string, selector, labels map[string]string) {
	t.Helper()
	if len(selector) == 0 {
		t.Errorf("%s: empty selector", where)
	}
	if !selects(selector, labels) {
		t.Errorf("%s: selector %v does not select its pod template's labels %v", where, selector, labels)
	}
}

func selects(selector, labels map[string]string) bool {
	for k, v := range selector {
		if labels[k] != v {
			return false
		}
	}
	return true
}

// secrets reads the Secret templates (secret.example.yaml files): the Secrets
// the manifests reference, which operators create from their secret store.
func secrets(t *testing.T) map[string]map[string]bool {
	t.Helper()
	out := map[string]map[string]bool{}
	for _, f := range []string{"secret.example.yaml", "drill/secret.example.yaml"} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var s corev1.Secret
		if err := yaml.UnmarshalStrict(b, &s); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		keys := map[string]bool{}
		for k := range s.StringData {
			keys[k] = true
		}
		out[s.Name] = keys
	}
	return out
}

// containerEnv is what a container's environment holds as far as the
// manifests say: literal values, ConfigMap values, and "(secret)" for a
// Secret's key.
func containerEnv(t *testing.T, where string, c corev1.Container, tr tree, sec map[string]map[string]bool) map[string]string {
	t.Helper()
	env := map[string]string{}
	for _, from := range c.EnvFrom {
		if from.ConfigMapRef == nil {
			t.Errorf("%s/%s: envFrom other than a ConfigMap", where, c.Name)
			continue
		}
		data, ok := tr.ConfigMaps[from.ConfigMapRef.Name]
		if !ok {
			t.Errorf("%s/%s: envFrom ConfigMap %s is not generated", where, c.Name, from.ConfigMapRef.Name)
		}
		for k, v := range data {
			env[k] = v
		}
	}
	for _, e := range c.Env {
		switch {
		case e.ValueFrom == nil:
			env[e.Name] = e.Value
		case e.ValueFrom.SecretKeyRef != nil:
			ref := e.ValueFrom.SecretKeyRef
			if !sec[ref.Name][ref.Key] {
				t.Errorf("%s/%s: env %s reads key %q of Secret %s, which its secret.example.yaml does not have", where, c.Name, e.Name, ref.Key, ref.Name)
			}
			env[e.Name] = "(secret)"
		case e.ValueFrom.ConfigMapKeyRef != nil:
			ref := e.ValueFrom.ConfigMapKeyRef
			v, ok := tr.ConfigMaps[ref.Name][ref.Key]
			if !ok {
				t.Errorf("%s/%s: env %s reads missing key %q of ConfigMap %s", where, c.Name, e.Name, ref.Key, ref.Name)
			}
			env[e.Name] = v
		default:
			t.Errorf("%s/%s: env %s has a source this test does not know", where, c.Name, e.Name)
		}
	}
	return env
}

// checkVolumes: every mount names a volume or claim, every ConfigMap and
// Secret volume names one that exists, with the keys it lists.
func checkVolumes(t *testing.T, p pod, tr tree, sec map[string]map[string]bool) {
	t.Helper()
	names := map[string]bool{}
	for _, c := range p.Claims {
		names[c] = true
	}
	for _, v := range p.Spec.Volumes {
		names[v.Name] = true
		var keys map[string]bool
		var what string
		switch {
		case v.ConfigMap != nil:
			what = "ConfigMap " + v.ConfigMap.Name
			data, ok := tr.ConfigMaps[v.ConfigMap.Name]
			if !ok {
				t.Errorf("%s: volume %s: %s is not generated", p.Where, v.Name, what)
			}
			keys = map[string]bool{}
			for k := range data {
				keys[k] = true
			}
			for _, it := range v.ConfigMap.Items {
				if !keys[it.Key] {
					t.Errorf("%s: volume %s: %s has no key %q", p.Where, v.Name, what, it.Key)
				}
			}
		case v.Secret != nil:
			what = "Secret " + v.Secret.SecretName
			keys = sec[v.Secret.SecretName]
			if keys == nil {
				t.Errorf("%s: volume %s: %s has no secret.example.yaml", p.Where, v.Name, what)
			}
			for _, it := range v.Secret.Items {
				if !keys[it.Key] {
					t.Errorf("%s: volume %s: %s has no key %q", p.Where, v.Name, what, it.Key)
				}
			}
		}
	}
	for _, c := range p.Spec.Containers {
		for _, m := range c.VolumeMounts {
			if !names[m.Name] {
				t.Errorf("%s/%s: mount %s names no volume or claim", p.Where, c.Name, m.Name)
			}
		}
	}
}

// fileMounted reports whether an absolute path lies under one of the
// container's mounts (its root filesystem is read-only).
func fileMounted(c corev1.Container, p string) bool {
	p = path.Clean(p)
	for _, m := range c.VolumeMounts {
		if p == m.MountPath || strings.HasPrefix(p, strings.TrimSuffix(m.MountPath, "/")+"/") {
			return true
		}
	}
	return false
}

// checkContainer: named probe ports exist, the security context is non-root
// with a read-only root, memory is limited and GOMEMLIMIT is below the
// limit, and every absolute path in env or args lies on a mount.
func checkContainer(t *testing.T, p pod, c corev1.Container, env map[string]string) {
	t.Helper()
	where := p.Where + "/" + c.Name
	ports := map[string]int32{}
	for _, cp := range c.Ports {
		ports[cp.Name] = cp.ContainerPort
	}
	for _, probe := range []*corev1.Probe{c.LivenessProbe, c.ReadinessProbe} {
		if probe != nil && probe.HTTPGet != nil && probe.HTTPGet.Port.StrVal != "" && ports[probe.HTTPGet.Port.StrVal] == 0 {
			t.Errorf("%s: probe port %q is not a container port", where, probe.HTTPGet.Port.StrVal)
		}
	}
	sc, psc := c.SecurityContext, p.Spec.SecurityContext
	nonRoot := (sc != nil && sc.RunAsNonRoot != nil && *sc.RunAsNonRoot) || (psc != nil && psc.RunAsNonRoot != nil && *psc.RunAsNonRoot)
	if !nonRoot {
		t.Errorf("%s: not runAsNonRoot", where)
	}
	if c.Name != "chroma" && (sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem) {
		t.Errorf("%s: root filesystem not read-only", where)
	}
	if sc == nil || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
		t.Errorf("%s: allowPrivilegeEscalation not false", where)
	}
	limit, ok := c.Resources.Limits[corev1.ResourceMemory]
	if !ok {
		t.Errorf("%s: no memory limit", where)
	}
	if gml, ok := env["GOMEMLIMIT"]; ok {
		q, err := resource.ParseQuantity(strings.TrimSuffix(gml, "B"))
		if err != nil {
			t.Errorf("%s: GOMEMLIMIT %q: %v", where, gml, err)
		} else if q.Cmp(limit) >= 0 {
			t.Errorf("%s: GOMEMLIMIT %s is not below the memory limit %s", where, gml, limit.String())
		}
	}
	for name, v := range env {
		if strings.HasPrefix(v, "/") && !fileMounted(c, v) {
			t.Errorf("%s: env %s=%s is on the read-only root filesystem, not on a mount", where, name, v)
		}
	}
	for _, a := range c.Args {
		if _, v, ok := strings.Cut(a, "="); ok && strings.HasPrefix(v, "/") && !fileMounted(c, v) {
			t.Errorf("%s: argument %s names a path on no mount", where, a)
		}
	}
}

// mountedFile returns the content of the ConfigMap key mounted at file in
// the container, or false.
func mountedFile(p pod, c corev1.Container, tr tree, file string) (string, bool) {
	for _, m := range c.VolumeMounts {
		if path.Dir(file) != path.Clean(m.MountPath) {
			continue
		}
		for _, v := range p.Spec.Volumes {
			if v.Name == m.Name && v.ConfigMap != nil {
				data, ok := tr.ConfigMaps[v.ConfigMap.Name][path.Base(file)]
				return data, ok
			}
		}
	}
	return "", false
}

func describe(o object) string { return fmt.Sprintf("%s %s (%s)", o.Kind, o.Name, o.File) }
