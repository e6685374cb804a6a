package deploy

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/config"
	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/fbconf"
)

type obj = map[string]any

func get(v any, path ...string) any {
	for _, p := range path {
		m, ok := v.(obj)
		if !ok {
			return nil
		}
		v = m[p]
	}
	return v
}

func str(v any, path ...string) string {
	s, _ := get(v, path...).(string)
	return s
}

func num(v any, path ...string) int {
	n, _ := get(v, path...).(int)
	return n
}

func list(v any, path ...string) []any {
	l, _ := get(v, path...).([]any)
	return l
}

// loadEmbedded writes an embedded Fluent Bit config to a file and loads it.
func loadEmbedded(t *testing.T, name, text string) *fbconf.Config {
	t.Helper()
	for k, v := range exampleEnv {
		t.Setenv(k, v)
	}
	p := filepath.Join(t.TempDir(), name)
	os.WriteFile(p, []byte(text), 0o644)
	c, err := fbconf.Load(p)
	if err != nil {
		t.Fatalf("embedded %s: %v", name, err)
	}
	return c
}

func service(c *fbconf.Config) *fbconf.Section {
	for _, s := range c.Sections {
		if s.Kind == "service" {
			return s
		}
	}
	return &fbconf.Section{}
}

// mounted reports whether path lies under one of the container's mounts
// backed by a volume of the pod.
func mounted(mounts []any, volumes map[string]bool, path string) bool {
	for _, m := range mounts {
		mp := str(m, "mountPath")
		if volumes[str(m, "name")] && (path == mp || strings.HasPrefix(path, strings.TrimSuffix(mp, "/")+"/")) {
			return true
		}
	}
	return false
}

func graceOf(t *testing.T, svc *fbconf.Section) int {
	d, err := config.ParseDuration(svc.Get("grace"))
	if err != nil {
		t.Fatalf("service grace %q: %v", svc.Get("grace"), err)
	}
	return int(d.Seconds())
}

func TestKubernetesDeployment(t *testing.T) {
	b, err := os.ReadFile(root("conf", "kubernetes", "deployment.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	byKind := map[string][]obj{}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	for {
		var o obj
		if err := dec.Decode(&o); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("deployment.yaml: %v", err)
		}
		if str(o, "apiVersion") == "" || str(o, "metadata", "name") == "" {
			t.Errorf("object without apiVersion or name: %v", o)
		}
		byKind[str(o, "kind")] = append(byKind[str(o, "kind")], o)
	}
	if len(byKind["Deployment"]) != 1 || len(byKind["ConfigMap"]) != 1 || len(byKind["ServiceAccount"]) != 1 {
		t.Fatalf("want one Deployment, ConfigMap and ServiceAccount, got %v", byKind)
	}
	dep, cm, sa := byKind["Deployment"][0], byKind["ConfigMap"][0], byKind["ServiceAccount"][0]
	pod := get(dep, "spec", "template", "spec")
	if n := num(dep, "spec", "replicas"); n < 2 {
		t.Errorf("replicas %d: several replicas share the queue", n)
	}
	if str(pod, "serviceAccountName") != str(sa, "metadata", "name") {
		t.Error("the pod does not use the service account")
	}
	if !strings.HasPrefix(str(sa, "metadata", "annotations", "eks.amazonaws.com/role-arn"), "arn:aws:iam::") {
		t.Error("the service account has no IRSA annotation eks.amazonaws.com/role-arn")
	}
	labels, _ := get(dep, "spec", "template", "metadata", "labels").(obj)
	sel, _ := get(dep, "spec", "selector", "matchLabels").(obj)
	if len(sel) == 0 {
		t.Error("the Deployment has no selector")
	}
	for k, v := range sel {
		if labels[k] != v {
			t.Errorf("selector %s=%v does not match the pod's labels", k, v)
		}
	}
	ctr := list(pod, "containers")[0]
	if !strings.Contains(str(ctr, "image"), "in_cloudtrail") {
		t.Errorf("image %q is not the project's image", str(ctr, "image"))
	}
	if get(ctr, "resources", "limits", "memory") == nil || get(ctr, "resources", "limits", "cpu") == nil {
		t.Error("no cpu and memory limits")
	}
	volumes := map[string]bool{}
	for _, v := range list(pod, "volumes") {
		volumes[str(v, "name")] = true
	}

	// The embedded Fluent Bit configuration.
	data := get(cm, "data").(obj)
	text := str(data, "fluent-bit.yaml")
	if !strings.Contains(strings.Join(toStrings(list(ctr, "args")), " "), "/fluent-bit/etc/conf/fluent-bit.yaml") ||
		!mounted(list(ctr, "volumeMounts"), volumes, "/fluent-bit/etc/conf/fluent-bit.yaml") {
		t.Error("the container does not run the ConfigMap's fluent-bit.yaml")
	}
	for k, v := range data {
		if k != "fluent-bit.yaml" {
			t.Setenv(k, v.(string)) // envFrom the ConfigMap
		}
	}
	c := loadEmbedded(t, "fluent-bit.yaml", text)
	in := checkInput(t, "deployment.yaml", c)
	svc := service(c)
	if in.Get("storage.type") != "filesystem" || svc.Get("storage.path") == "" {
		t.Error("no filesystem buffering (storage.type filesystem, storage.path)")
	}
	if !mounted(list(ctr, "volumeMounts"), volumes, svc.Get("storage.path")) {
		t.Errorf("storage.path %s is not on a mounted volume", svc.Get("storage.path"))
	}
	if g, tg := graceOf(t, svc), num(pod, "terminationGracePeriodSeconds"); tg <= g {
		t.Errorf("terminationGracePeriodSeconds %d is not longer than Fluent Bit's grace %d", tg, g)
	}
	plugins := ""
	for _, s := range c.Sections {
		if s.Kind == "plugins" {
			plugins = s.Get("path")
		}
	}
	if plugins != "/fluent-bit/plugins/in_cloudtrail.so" {
		t.Errorf("plugins %q: not where the image installs the plugin", plugins)
	}
}

func toStrings(l []any) []string {
	var out []string
	for _, x := range l {
		s, _ := x.(string)
		out = append(out, s)
	}
	return out
}

func TestHelmValues(t *testing.T) {
	b, err := os.ReadFile(root("conf", "kubernetes", "helm-values.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var v obj
	if err := yaml.Unmarshal(b, &v); err != nil {
		t.Fatalf("helm-values.yaml: %v", err)
	}
	if str(v, "kind") != "Deployment" || num(v, "replicaCount") < 2 {
		t.Errorf("kind %q, replicaCount %d: want a Deployment with several replicas", str(v, "kind"), num(v, "replicaCount"))
	}
	if !strings.Contains(str(v, "image", "repository"), "in_cloudtrail") {
		t.Error("image.repository is not the project's image")
	}
	if !strings.HasPrefix(str(v, "serviceAccount", "annotations", "eks.amazonaws.com/role-arn"), "arn:aws:iam::") {
		t.Error("no IRSA annotation on the service account")
	}
	if get(v, "resources", "limits", "memory") == nil {
		t.Error("no resource limits")
	}
	for _, e := range list(v, "env") {
		t.Setenv(str(e, "name"), str(e, "value"))
	}
	// The chart concatenates service, inputs, filters and outputs into fluent-bit.conf.
	var conf strings.Builder
	for _, k := range []string{"service", "inputs", "filters", "outputs"} {
		conf.WriteString(strings.ReplaceAll(str(v, "config", k), "{{ .Values.metricsPort }}", "2020") + "\n")
	}
	c := loadEmbedded(t, "fluent-bit.conf", conf.String())
	in := checkInput(t, "helm-values.yaml", c)
	svc := service(c)
	volumes := map[string]bool{"config": true}
	for _, x := range list(v, "extraVolumes") {
		volumes[str(x, "name")] = true
	}
	mounts := append(list(v, "volumeMounts"), list(v, "extraVolumeMounts")...)
	if in.Get("storage.type") != "filesystem" || !mounted(mounts, volumes, svc.Get("storage.path")) {
		t.Errorf("no filesystem buffering on a mounted volume (storage.path %q)", svc.Get("storage.path"))
	}
	pf := svc.Get("plugins_file")
	if !mounted(mounts, volumes, pf) || !strings.Contains(str(v, "config", "extraFiles", filepath.Base(pf)), "/fluent-bit/plugins/in_cloudtrail.so") {
		t.Errorf("plugins_file %s is not an extraFiles entry loading the plugin", pf)
	}
	if !strings.Contains(strings.Join(toStrings(list(v, "args")), " "), "/fluent-bit/etc/conf/fluent-bit.conf") {
		t.Error("args do not run the mounted fluent-bit.conf")
	}
	if g := graceOf(t, svc); num(v, "terminationGracePeriodSeconds") <= g {
		t.Errorf("terminationGracePeriodSeconds %d is not longer than Fluent Bit's grace %d", num(v, "terminationGracePeriodSeconds"), g)
	}
}
