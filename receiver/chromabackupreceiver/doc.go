//go:generate ../../.tools/bin/mdatagen metadata.yaml

// Package chromabackupreceiver probes a Chroma persist directory and turns what it
// finds into backup-health metrics.
package chromabackupreceiver // import "github.com/otelcol-chroma/otelcol-chroma/receiver/chromabackupreceiver"
