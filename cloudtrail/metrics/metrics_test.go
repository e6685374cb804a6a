package metrics

import (
	"strings"
	"testing"
)

func TestExposition(t *testing.T) {
	var c Counter
	c.Add(3)
	var l LabeledCounter
	l.Add("download", 2)
	l.Add("decode", 1)
	l.Add("download", 1)
	h := NewHistogram([]float64{1, 10})
	h.Observe(0.5)
	h.Observe(5)
	h.Observe(50)
	var b strings.Builder
	w := NewWriter(&b)
	lb := Labels{{"instance", "cloudtrail.0"}}
	w.Counter("x_total", "X.", lb, c.Load())
	w.Counter("x_total", "X.", Labels{{"instance", "cloudtrail.1"}}, 1)
	w.Labeled("f_total", "F.", lb, "reason", &l)
	w.Histogram("lag_seconds", "Lag.", lb, h)
	got := b.String()
	for _, want := range []string{
		"# TYPE x_total counter\nx_total{instance=\"cloudtrail.0\"} 3\nx_total{instance=\"cloudtrail.1\"} 1\n",
		`f_total{instance="cloudtrail.0",reason="decode"} 1`,
		`f_total{instance="cloudtrail.0",reason="download"} 3`,
		`lag_seconds_bucket{instance="cloudtrail.0",le="1"} 1`,
		`lag_seconds_bucket{instance="cloudtrail.0",le="10"} 2`,
		`lag_seconds_bucket{instance="cloudtrail.0",le="+Inf"} 3`,
		`lag_seconds_sum{instance="cloudtrail.0"} 55.5`,
		`lag_seconds_count{instance="cloudtrail.0"} 3`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in:\n%s", want, got)
		}
	}
	if strings.Count(got, "# TYPE x_total") != 1 {
		t.Error("family header repeated")
	}
	if q := h.Quantile(0.5); q != 10 {
		t.Errorf("median bucket %v", q)
	}
	if l.Total() != 4 {
		t.Errorf("total %d", l.Total())
	}
}
