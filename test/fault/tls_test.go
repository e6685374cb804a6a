package fault

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/cloudtrail-fluentbit/in_cloudtrail/test/emu"
	"github.com/cloudtrail-fluentbit/in_cloudtrail/test/faultproxy"
	"github.com/cloudtrail-fluentbit/in_cloudtrail/test/seed"
	"github.com/cloudtrail-fluentbit/in_cloudtrail/test/testenv"
)

// TestTLSVerification puts the emulator behind an HTTPS endpoint with a
// self-signed certificate: with tls_verify on (the default) nothing is read
// and the error says why; with a CA bundle that trusts the certificate, or
// with tls_verify off set explicitly, everything arrives.
func TestTLSVerification(t *testing.T) {
	t.Parallel()
	srv := testenv.Emulator(t)
	px, err := faultproxy.NewTLS(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(px.Close)
	e := setupWith(t, srv, px, 50)
	ctx := context.Background()
	w, err := seed.PutSynthetic(ctx, srv, e.bucket, "tls", 3, 50)
	if err != nil {
		t.Fatal(err)
	}

	t.Run("verify on refuses", func(t *testing.T) {
		e.t = t
		r := e.start()
		testenv.WaitFor(t, 60*time.Second, "a certificate error", func() bool {
			r.alive()
			return len(r.lines("certificate")) > 0
		})
		time.Sleep(2 * time.Second)
		r.stop()
		if n := len(r.counts()); n != 0 {
			t.Fatalf("%d records read through an untrusted TLS endpoint", n)
		}
		if len(px.Requests()) != 0 {
			t.Fatalf("%d requests reached the untrusted endpoint", len(px.Requests()))
		}
	})
	t.Run("CA bundle trusts", func(t *testing.T) {
		e.t = t
		bundle := filepath.Join(t.TempDir(), "ca.pem")
		if err := os.WriteFile(bundle, px.CertPEM(), 0o644); err != nil {
			t.Fatal(err)
		}
		r := startHarness(t, []string{"AWS_REGION=" + emu.Region, "AWS_ACCESS_KEY_ID=" + baseKeyID, "AWS_SECRET_ACCESS_KEY=" + baseSecret,
			"AWS_EC2_METADATA_DISABLED=true", "AWS_CA_BUNDLE=" + bundle},
			"--input", "cloudtrail", "queue_url="+e.queue, "endpoint_url="+px.URL, "wait_time=1s", "delete_delay=0s")
		got := e.waitAll(r, w.Want, 90*time.Second)
		r.stop()
		if miss := w.Missing(got); len(miss) > 0 {
			t.Fatalf("%d eventIDs missing", len(miss))
		}
	})
	t.Run("verify off reads", func(t *testing.T) {
		e.t = t
		w, err := seed.PutSynthetic(ctx, srv, e.bucket, "tls-off", 3, 50)
		if err != nil {
			t.Fatal(err)
		}
		r := e.start("tls_verify=off")
		got := e.waitAll(r, w.Want, 90*time.Second)
		r.stop()
		if miss := w.Missing(got); len(miss) > 0 {
			t.Fatalf("%d eventIDs missing", len(miss))
		}
	})
}
