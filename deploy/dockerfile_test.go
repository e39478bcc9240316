package deploy_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// The image builds with the Go release go.mod asks for, on the Debian release
// whose glibc the runtime image carries (the binary links SQLite with cgo).
func TestDockerfileMatchesGoModAndGlibc(t *testing.T) {
	df, err := os.ReadFile("Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join("..", "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	goLine := regexp.MustCompile(`(?m)^go (\d+\.\d+)(\.\d+)?$`).FindSubmatch(raw)
	if goLine == nil {
		t.Fatal("go.mod has no go line")
	}
	want := string(goLine[1])
	from := regexp.MustCompile(`(?m)^FROM\s+(\S+)`).FindAllStringSubmatch(string(df), -1)
	if len(from) != 2 {
		t.Fatalf("want a build stage and a runtime stage, got FROM lines %v", from)
	}
	build, runtime := from[0][1], from[1][1]
	if build != "golang:"+want+"-bookworm" {
		t.Errorf("build stage %s, want golang:%s-bookworm (go.mod's go line)", build, want)
	}
	if !strings.HasPrefix(runtime, "gcr.io/distroless/base-debian12:") || !strings.HasSuffix(runtime, ":nonroot") {
		t.Errorf("runtime stage %s: want gcr.io/distroless/base-debian12:nonroot (glibc of bookworm, non-root)", runtime)
	}
	if !regexp.MustCompile(`(?m)^RUN CGO_ENABLED=1 go build .* \./cmd/otelcol-chroma$`).Match(df) {
		t.Error("the build stage does not build ./cmd/otelcol-chroma with CGO_ENABLED=1")
	}
	if !regexp.MustCompile(`(?m)^USER 65532`).Match(df) {
		t.Error("the image does not run as the nonroot user 65532 the manifests set")
	}
}
