// Package bench holds the decode-path benchmarks and memory checks per
// schema: gzip bytes of an S3 object in memory → decode.Decoder with the
// encoder the plugin builds for the schema (schema.Factory) → 1 MiB batches
// of Fluent Bit entries, exactly what a collector worker does between the
// S3 GET and the record queue. It has no non-test code; `make bench` runs it.
package bench
