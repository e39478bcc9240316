//go:generate mdatagen metadata.yaml

// Package dropwhenfullprocessor turns the "sending queue is full" error of
// the exporter behind it into a counted, logged drop. Without it, that error
// travels back to the receiver, which refuses the whole request: every other
// pipeline fed by the same receiver then loses the request too (or gets it
// again when the sender retries).
package dropwhenfullprocessor // import "github.com/otelcol-chroma/otelcol-chroma/processor/dropwhenfullprocessor"
