// Package deps pins modules that code in progress will import. Removed once they are used.
package deps

import (
	_ "filippo.io/age"
	_ "github.com/open-telemetry/opentelemetry-collector-contrib/pkg/golden"
	_ "github.com/open-telemetry/opentelemetry-collector-contrib/pkg/pdatatest/pmetrictest"
	_ "github.com/open-telemetry/opentelemetry-collector-contrib/processor/redactionprocessor"
	_ "golang.org/x/sync/errgroup"
	_ "golang.org/x/term"
)
