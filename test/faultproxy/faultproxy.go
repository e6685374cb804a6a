// Package faultproxy is an HTTP proxy for tests that sits between the plugin
// (endpoint_url or AWS_ENDPOINT_URL pointing at it) and the AWS emulator, and
// injects faults per request type: AWS error responses (S3 500 / 503
// SlowDown, SQS errors, STS AccessDenied), connections reset in the middle of
// a body, bodies slower than a visibility timeout, DeleteMessageBatch entries
// that fail, and STS credentials that expire early (the proxy rewrites the
// Expiration of AssumeRole answers and then refuses requests signed with
// expired keys, as AWS does).
//
// It also records every request (operation, bucket, key, the access key
// that signed it) and every SQS message ID it saw delivered, so tests can
// assert what was asked and what was not, and it remembers every secret the
// STS answers carried so tests can grep logs for them.
package faultproxy

import (
	"bytes"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"
)

// Request is what the proxy saw of one request.
type Request struct {
	Op        string // "sqs:ReceiveMessage", "s3:GetObject", "sts:AssumeRole", ...
	Bucket    string // S3 only
	Key       string // S3 only
	AccessKey string // from the Authorization header
	Owner     string // x-amz-expected-bucket-owner
	Header    http.Header
	Time      time.Time
	Fault     string // the fault injected, "" when forwarded unchanged
}

// Fault is what to do to a request a Rule matches.
type Fault struct {
	// Status and Code answer with an AWS error of that HTTP status and
	// code (in the service's wire format) without forwarding.
	Status  int
	Code    string
	Message string
	// ResetAfter forwards the request, sends the answer's headers and
	// this many bytes of its body, then resets the connection. Use it
	// with Reset true (ResetAfter 0 resets right after the headers).
	Reset      bool
	ResetAfter int
	// SlowBody forwards the request and spreads the answer's body over
	// this long.
	SlowBody time.Duration
	// Delay waits this long before forwarding.
	Delay time.Duration
	// FailEntries answers a DeleteMessageBatch with every entry in
	// Failed, without forwarding (so the messages stay in the queue).
	FailEntries bool
}

// Rule injects Fault into requests of operation Op ("*" for any) for
// which Match (if set) returns true. Times > 0 limits how often it fires;
// Prob in (0,1) makes it fire at random. Rules are tried in order; the first
// that fires wins.
type Rule struct {
	Name  string
	Op    string
	Match func(*Request) bool
	Times int
	Prob  float64
	Fault Fault

	fired int
}

// Proxy is a running fault-injecting proxy.
type Proxy struct {
	URL      string
	upstream *url.URL
	srv      *httptest.Server
	client   *http.Client

	mu        sync.Mutex
	rules     []*Rule
	requests  []Request
	delivered map[string]int    // SQS message ID -> times delivered by ReceiveMessage
	bodies    map[string]string // SQS message ID -> body
	receipts  map[string]string // receipt handle -> message ID
	deleted   map[string]bool   // message IDs whose delete succeeded
	secrets   []string          // secret keys and session tokens from STS answers
	expiry    map[string]time.Time
	stsLife   time.Duration // 0: leave STS Expiration alone
	owners    map[string]string
}

// New starts a proxy in front of upstream (the emulator's URL).
func New(upstream string) (*Proxy, error) { return start(upstream, false) }

// NewTLS is New serving HTTPS with a self-signed certificate that no client
// trusts.
func NewTLS(upstream string) (*Proxy, error) { return start(upstream, true) }

func start(upstream string, tls bool) (*Proxy, error) {
	u, err := url.Parse(upstream)
	if err != nil {
		return nil, err
	}
	p := &Proxy{
		upstream:  u,
		delivered: map[string]int{},
		bodies:    map[string]string{},
		receipts:  map[string]string{},
		deleted:   map[string]bool{},
		expiry:    map[string]time.Time{},
		owners:    map[string]string{},
		client: &http.Client{Transport: &http.Transport{
			Proxy:               nil,
			MaxIdleConnsPerHost: 64,
			DisableCompression:  true,
		}},
	}
	p.srv = httptest.NewUnstartedServer(http.HandlerFunc(p.serve))
	// Refused handshakes are what the TLS tests expect; do not print them.
	p.srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	if tls {
		p.srv.StartTLS()
	} else {
		p.srv.Start()
	}
	p.URL = p.srv.URL
	return p, nil
}

// Close stops the proxy.
func (p *Proxy) Close() {
	p.srv.CloseClientConnections()
	p.srv.Close()
}

// CertPEM returns the certificate of a proxy started with NewTLS, PEM
// encoded, for a CA bundle that trusts it.
func (p *Proxy) CertPEM() []byte {
	c := p.srv.Certificate()
	if c == nil {
		return nil
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
}

// Add appends rules.
func (p *Proxy) Add(rules ...*Rule) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.rules = append(p.rules, rules...)
}

// Clear removes every rule.
func (p *Proxy) Clear() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.rules = nil
}

// Fired returns how often the rule named name has fired.
func (p *Proxy) Fired(name string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, r := range p.rules {
		if r.Name == name {
			n += r.fired
		}
	}
	return n
}

// ShortenCredentials makes every AssumeRole answer expire life after it is
// given, and from then on answers requests signed with an expired key with
// 400 ExpiredToken, as AWS does.
func (p *Proxy) ShortenCredentials(life time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stsLife = life
}

// SetBucketOwner makes S3 requests for bucket that carry an
// ExpectedBucketOwner other than owner fail with 403 AccessDenied, as S3
// does (the emulator ignores the header).
func (p *Proxy) SetBucketOwner(bucket, owner string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.owners[bucket] = owner
}

// Requests returns every request seen so far.
func (p *Proxy) Requests() []Request {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Request(nil), p.requests...)
}

// Count returns how many requests of op were seen (faulted or not).
func (p *Proxy) Count(op string) int {
	n := 0
	for _, r := range p.Requests() {
		if r.Op == op {
			n++
		}
	}
	return n
}

// Delivered returns how many times ReceiveMessage delivered each message ID.
func (p *Proxy) Delivered() map[string]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make(map[string]int, len(p.delivered))
	for k, v := range p.delivered {
		out[k] = v
	}
	return out
}

// InFlight returns the bodies of the messages delivered and not (yet)
// deleted, by message ID.
func (p *Proxy) InFlight() map[string]string {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := map[string]string{}
	for id := range p.delivered {
		if !p.deleted[id] {
			out[id] = p.bodies[id]
		}
	}
	return out
}

// Secrets returns the secret access keys and session tokens STS handed out
// through the proxy.
func (p *Proxy) Secrets() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.secrets...)
}

// ExpiredUses counts requests that were signed with an expired key.
func (p *Proxy) ExpiredUses() int {
	n := 0
	for _, r := range p.Requests() {
		if r.Fault == "ExpiredToken" {
			n++
		}
	}
	return n
}

var credRE = regexp.MustCompile(`Credential=([A-Z0-9]+)/`)

// classify names the operation of r, reading (and restoring) its body when
// the operation is in it.
func classify(r *http.Request, body []byte) *Request {
	req := &Request{Header: r.Header.Clone(), Time: time.Now(), Owner: r.Header.Get("X-Amz-Expected-Bucket-Owner")}
	if m := credRE.FindStringSubmatch(r.Header.Get("Authorization")); m != nil {
		req.AccessKey = m[1]
	}
	if t := r.Header.Get("X-Amz-Target"); strings.HasPrefix(t, "AmazonSQS.") {
		req.Op = "sqs:" + strings.TrimPrefix(t, "AmazonSQS.")
		return req
	}
	if r.Method == http.MethodPost && strings.Contains(r.Header.Get("Content-Type"), "x-www-form-urlencoded") {
		if v, err := url.ParseQuery(string(body)); err == nil && v.Get("Action") != "" {
			req.Op = "sts:" + v.Get("Action")
			return req
		}
	}
	path := strings.TrimPrefix(r.URL.EscapedPath(), "/")
	bucket, key, _ := strings.Cut(path, "/")
	req.Bucket, _ = url.PathUnescape(bucket)
	req.Key, _ = url.PathUnescape(key)
	switch {
	case r.Method == http.MethodGet && key != "":
		req.Op = "s3:GetObject"
	case r.Method == http.MethodHead && key != "":
		req.Op = "s3:HeadObject"
	default:
		req.Op = "s3:" + r.Method
	}
	return req
}

func (p *Proxy) pick(req *Request) *Fault {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, rule := range p.rules {
		if rule.Op != "*" && rule.Op != req.Op {
			continue
		}
		if rule.Times > 0 && rule.fired >= rule.Times {
			continue
		}
		if rule.Match != nil && !rule.Match(req) {
			continue
		}
		if rule.Prob > 0 && rule.Prob < 1 && rand.Float64() >= rule.Prob {
			continue
		}
		rule.fired++
		req.Fault = rule.Name
		if req.Fault == "" {
			req.Fault = "fault"
		}
		f := rule.Fault
		return &f
	}
	return nil
}

func (p *Proxy) record(req *Request) {
	p.mu.Lock()
	if len(p.requests) >= 200000 { // long soaks: keep the newest half
		p.requests = append(p.requests[:0], p.requests[100000:]...)
	}
	p.requests = append(p.requests, *req)
	p.mu.Unlock()
}

func (p *Proxy) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	r.Body.Close()
	req := classify(r, body)

	// Requests signed with a key the proxy made expire are refused.
	p.mu.Lock()
	exp, known := p.expiry[req.AccessKey]
	owner, owned := p.owners[req.Bucket]
	p.mu.Unlock()
	if known && time.Now().After(exp) {
		req.Fault = "ExpiredToken"
		p.record(req)
		writeError(w, req.Op, 400, "ExpiredToken", "The security token included in the request is expired")
		return
	}
	if strings.HasPrefix(req.Op, "s3:") && owned && req.Owner != "" && req.Owner != owner {
		req.Fault = "ExpectedBucketOwner"
		p.record(req)
		writeError(w, req.Op, 403, "AccessDenied", "Access Denied")
		return
	}

	f := p.pick(req)
	p.record(req)
	if f != nil && f.Delay > 0 {
		time.Sleep(f.Delay)
	}
	if f != nil && f.Status != 0 {
		writeError(w, req.Op, f.Status, f.Code, f.Message)
		return
	}
	if f != nil && f.FailEntries && req.Op == "sqs:DeleteMessageBatch" {
		var in struct{ Entries []struct{ Id string } }
		json.Unmarshal(body, &in)
		type failed struct {
			Id, Code, Message string
			SenderFault       bool
		}
		out := struct {
			Successful []struct{} `json:"Successful"`
			Failed     []failed   `json:"Failed"`
		}{Successful: []struct{}{}}
		for _, e := range in.Entries {
			out.Failed = append(out.Failed, failed{Id: e.Id, Code: "InternalError", Message: "injected delete failure"})
		}
		b, _ := json.Marshal(out)
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		w.Write(b)
		return
	}

	up := *p.upstream
	up.Path, up.RawPath = r.URL.Path, r.URL.RawPath
	up.RawQuery = r.URL.RawQuery
	out, err := http.NewRequestWithContext(r.Context(), r.Method, up.String(), bytes.NewReader(body))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	out.Header = r.Header.Clone()
	out.Host = r.Host
	resp, err := p.client.Do(out)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()

	var rbody io.Reader = resp.Body
	switch req.Op {
	case "sqs:ReceiveMessage", "sts:AssumeRole", "sqs:DeleteMessageBatch":
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		if resp.StatusCode == 200 {
			b = p.inspect(req.Op, b, body)
			resp.Header.Set("Content-Length", fmt.Sprint(len(b)))
			resp.ContentLength = int64(len(b))
		}
		rbody = bytes.NewReader(b)
	}
	for k, v := range resp.Header {
		w.Header()[k] = v
	}
	if resp.ContentLength >= 0 {
		w.Header().Set("Content-Length", fmt.Sprint(resp.ContentLength))
	}
	w.WriteHeader(resp.StatusCode)
	flusher, _ := w.(http.Flusher)
	switch {
	case f != nil && f.Reset:
		if f.ResetAfter > 0 {
			io.CopyN(w, rbody, int64(f.ResetAfter))
		}
		if flusher != nil {
			flusher.Flush()
		}
		reset(w)
	case f != nil && f.SlowBody > 0:
		b, _ := io.ReadAll(rbody)
		const parts = 20
		step := (len(b) + parts - 1) / parts
		for i := 0; i < len(b); i += max(step, 1) {
			time.Sleep(f.SlowBody / parts)
			if _, err := w.Write(b[i:min(i+step, len(b))]); err != nil {
				return
			}
			if flusher != nil {
				flusher.Flush()
			}
		}
	default:
		io.Copy(w, rbody)
	}
}

// reset closes the client connection with a TCP RST.
func reset(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic("faultproxy: cannot hijack")
	}
	conn, buf, err := hj.Hijack()
	if err != nil {
		return
	}
	buf.Flush()
	if tc, ok := conn.(*net.TCPConn); ok {
		tc.SetLinger(0)
	}
	conn.Close()
}

var (
	expRE   = regexp.MustCompile(`<Expiration>[^<]*</Expiration>`)
	akidRE  = regexp.MustCompile(`<AccessKeyId>([^<]*)</AccessKeyId>`)
	secRE   = regexp.MustCompile(`<SecretAccessKey>([^<]*)</SecretAccessKey>`)
	tokenRE = regexp.MustCompile(`<SessionToken>([^<]*)</SessionToken>`)
)

// inspect records what an answer carries and rewrites STS expirations.
func (p *Proxy) inspect(op string, b, reqBody []byte) []byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch op {
	case "sqs:ReceiveMessage":
		var out struct {
			Messages []struct{ MessageId, ReceiptHandle, Body string }
		}
		if json.Unmarshal(b, &out) == nil {
			for _, m := range out.Messages {
				p.delivered[m.MessageId]++
				p.bodies[m.MessageId] = m.Body
				p.receipts[m.ReceiptHandle] = m.MessageId
			}
		}
	case "sqs:DeleteMessageBatch":
		var in struct {
			Entries []struct{ Id, ReceiptHandle string }
		}
		var out struct{ Successful []struct{ Id string } }
		if json.Unmarshal(reqBody, &in) == nil && json.Unmarshal(b, &out) == nil {
			for _, ok := range out.Successful {
				for _, e := range in.Entries {
					if e.Id == ok.Id {
						p.deleted[p.receipts[e.ReceiptHandle]] = true
					}
				}
			}
		}
	case "sts:AssumeRole":
		for _, re := range []*regexp.Regexp{secRE, tokenRE} {
			if m := re.FindSubmatch(b); m != nil && len(m[1]) > 0 {
				p.secrets = append(p.secrets, string(m[1]))
			}
		}
		if p.stsLife > 0 {
			exp := time.Now().Add(p.stsLife)
			b = expRE.ReplaceAll(b, []byte("<Expiration>"+exp.UTC().Format(time.RFC3339)+"</Expiration>"))
			if m := akidRE.FindSubmatch(b); m != nil {
				p.expiry[string(m[1])] = exp
			}
		}
	}
	return b
}

// writeError answers with an AWS error in the wire format of op's service.
func writeError(w http.ResponseWriter, op string, status int, code, msg string) {
	if msg == "" {
		msg = "injected fault " + code
	}
	switch {
	case strings.HasPrefix(op, "sqs:"):
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		w.Header().Set("X-Amzn-Query-Error", code+";"+map[bool]string{true: "Sender", false: "Receiver"}[status < 500])
		w.WriteHeader(status)
		fmt.Fprintf(w, `{"__type":"com.amazonaws.sqs#%s","message":%q}`, code, msg)
	case strings.HasPrefix(op, "sts:"):
		w.Header().Set("Content-Type", "text/xml")
		w.WriteHeader(status)
		fmt.Fprintf(w, `<ErrorResponse><Error><Type>%s</Type><Code>%s</Code><Message>%s</Message></Error><RequestId>fault</RequestId></ErrorResponse>`,
			map[bool]string{true: "Sender", false: "Receiver"}[status < 500], code, msg)
	default:
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(status)
		fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>%s</Code><Message>%s</Message><RequestId>fault</RequestId></Error>`, code, msg)
	}
}
