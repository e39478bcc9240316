// Package defaultconfig serves the configuration compiled into the binary under
// the URI "embedded:default", so the collector runs without a --config flag.
package defaultconfig // import "github.com/otelcol-chroma/otelcol-chroma/internal/defaultconfig"

import (
	"context"
	_ "embed"
	"fmt"
	"strings"

	"go.opentelemetry.io/collector/confmap"
)

const scheme = "embedded"

// URI names the embedded default configuration.
const URI = scheme + ":default"

//go:embed default.yaml
var defaultYAML []byte

// YAML returns the embedded default configuration.
func YAML() []byte { return append([]byte(nil), defaultYAML...) }

// NewFactory returns the confmap provider for the "embedded:" scheme.
func NewFactory() confmap.ProviderFactory {
	return confmap.NewProviderFactory(func(confmap.ProviderSettings) confmap.Provider { return provider{} })
}

type provider struct{}

func (provider) Retrieve(_ context.Context, uri string, _ confmap.WatcherFunc) (*confmap.Retrieved, error) {
	name, ok := strings.CutPrefix(uri, scheme+":")
	if !ok || name != "default" {
		return nil, fmt.Errorf("unknown embedded configuration %q: the only one is %q", uri, URI)
	}
	return confmap.NewRetrievedFromYAML(defaultYAML)
}

func (provider) Scheme() string { return scheme }

func (provider) Shutdown(context.Context) error { return nil }
