//go:generate mdatagen metadata.yaml

// Package scrubprocessor removes sensitive values from telemetry before it
// leaves for a destination, following one policy per processor instance.
package scrubprocessor // import "github.com/otelcol-chroma/otelcol-chroma/processor/scrubprocessor"
