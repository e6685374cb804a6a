package check_test

import (
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/check"
	"github.com/cloudtrail-fluentbit/in_cloudtrail/test/emu"
	"github.com/cloudtrail-fluentbit/in_cloudtrail/test/seed"
)

// TestIntegrityKeys: with integrity on the check says where the digest
// keys come from: the key file, or cloudtrail:ListPublicKeys (allowed or
// denied). The emulator has no CloudTrail ListPublicKeys, so a proxy in
// front of it answers those calls.
func TestIntegrityKeys(t *testing.T) {
	srv, err := emu.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	q, _ := goodSetup(t, srv)
	up, _ := url.Parse(srv.URL)
	deny := false
	px := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.Header.Get("X-Amz-Target"), "CloudTrail_") {
			httputil.NewSingleHostReverseProxy(up).ServeHTTP(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		if deny {
			w.WriteHeader(400)
			w.Write([]byte(`{"__type":"AccessDeniedException","message":"not authorized to perform: cloudtrail:ListPublicKeys"}`))
			return
		}
		w.Write([]byte(`{"PublicKeyList":[{"Fingerprint":"00","Value":"AAAA"}]}`))
	}))
	defer px.Close()
	useEndpoint(t, px.URL)

	cfg := parse(t, "queue_url", q, "integrity", "on")
	res, _ := runCheck(t, cfg, check.Options{})
	want(t, res, "cloudtrail:ListPublicKeys", check.OK, "1 current public key")
	deny = true
	res, _ = runCheck(t, cfg, check.Options{})
	want(t, res, "cloudtrail:ListPublicKeys", check.Failed, "access denied", "allow cloudtrail:ListPublicKeys")

	ch, err := seed.NewDigests("trail", "111122223333", emu.Region, "t")
	if err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(t.TempDir(), "keys.pem")
	os.WriteFile(f, ch.PublicPEM(), 0o600)
	res, _ = runCheck(t, parse(t, "queue_url", q, "integrity", "on", "integrity_public_keys", f), check.Options{})
	want(t, res, "integrity_public_keys", check.OK, "1 public key")
	if _, ok := find(res, "cloudtrail:ListPublicKeys"); ok {
		t.Error("ListPublicKeys checked although a key file is set")
	}
	res, _ = runCheck(t, parse(t, "queue_url", q), check.Options{})
	if _, ok := find(res, "cloudtrail:ListPublicKeys"); ok {
		t.Error("ListPublicKeys checked with integrity off")
	}
}
