package normalize_test

import (
	"syscall"
	"testing"
	"time"

	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/normalize/ecs"
	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/normalize/internal/testutil"
	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/normalize/ocsf"
	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/record"
)

func runBench(b *testing.B, enc record.Encoder) {
	events, total := testutil.BenchEvents(b)
	src := &record.Source{Bucket: "bucket", Key: "AWSLogs/1/CloudTrail/x.json.gz", MessageID: "m", QueueURL: "q"}
	buf := make([]byte, 0, 1<<20)
	b.SetBytes(int64(total / len(events)))
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime()
	var err error
	for i := 0; i < b.N; i++ {
		if len(buf) > 1<<20-64<<10 {
			buf = buf[:0]
		}
		buf, err = enc.Append(buf, events[i%len(events)], src)
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	// The CI machines are shared: CPU time of this process is the figure
	// that does not depend on what else runs.
	if cpu := cpuTime() - cpu0; cpu > 0 {
		b.ReportMetric(float64(b.N)/cpu.Seconds(), "events/cpu-s")
	}
}

// BenchmarkOCSF measures one event per op: parse plus OCSF 1.1.0 msgpack.
func BenchmarkOCSF(b *testing.B) {
	enc, err := ocsf.New(ocsf.Options{})
	if err != nil {
		b.Fatal(err)
	}
	runBench(b, enc)
}

// BenchmarkECS measures one event per op: parse plus ECS msgpack.
func BenchmarkECS(b *testing.B) { runBench(b, ecs.New()) }

// cpuTime is the user+system CPU time of the process so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
