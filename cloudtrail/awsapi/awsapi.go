// Package awsapi builds the AWS clients the collector uses from a Config:
// the default credential chain (environment, shared profile, web identity
// for IRSA, ECS and EC2 roles), optionally wrapped by an STS AssumeRole with
// an external ID, and SQS and S3 clients that honour endpoint_url and the
// SDK's own AWS_ENDPOINT_URL* variables.
package awsapi

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go/logging"

	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/config"
)

// Clients are the AWS clients of one input instance.
type Clients struct {
	SQS    *sqs.Client
	S3     *s3.Client
	Config aws.Config
	conns  *connTracker

	ctMu sync.Mutex
	ct   map[string]*cloudtrail.Client
}

// CloudTrail returns the CloudTrail client of region, made on first use
// with the instance's credentials and endpoint: integrity checking asks
// ListPublicKeys in each digest's region.
func (c *Clients) CloudTrail(region string) *cloudtrail.Client {
	c.ctMu.Lock()
	defer c.ctMu.Unlock()
	if cl, ok := c.ct[region]; ok {
		return cl
	}
	if c.ct == nil {
		c.ct = map[string]*cloudtrail.Client{}
	}
	cl := cloudtrail.NewFromConfig(c.Config, func(o *cloudtrail.Options) { o.Region = region })
	c.ct[region] = cl
	return cl
}

// Close closes the clients' connections, so that an instance stopped by a
// hot reload leaves none behind. Call it once no request is running.
func (c *Clients) Close() {
	if c != nil && c.conns != nil {
		c.conns.closeAll()
	}
}

// New loads the AWS configuration for c. It does not call AWS: credentials
// are resolved lazily on the first request and refreshed before expiry by
// the SDK's credentials cache.
//
// log receives the SDK's own warnings (it would otherwise print them to
// stderr in its own format); nil discards them.
func New(ctx context.Context, c *config.Config, userAgent string, log func(warn bool, msg string)) (*Clients, error) {
	conns := &connTracker{open: map[*trackedConn]struct{}{}}
	// A BuildableClient keeps the SDK's transport defaults and lets the SDK
	// apply AWS_CA_BUNDLE and the defaults mode.
	httpClient := awshttp.NewBuildableClient().WithTransportOptions(func(t *http.Transport) {
		// The collector keeps several object downloads and a long poll open
		// at once; keep enough idle connections to reuse them.
		t.MaxIdleConnsPerHost = 32
		if !c.TLSVerify {
			if t.TLSClientConfig == nil {
				t.TLSClientConfig = &tls.Config{}
			}
			t.TLSClientConfig.InsecureSkipVerify = true // explicitly asked for with tls_verify off
		}
		t.DialContext = conns.wrap(t.DialContext)
	}).WithTimeout(0) // per-request deadlines come from contexts; a long poll lasts 20 s

	opts := []func(*awsconfig.LoadOptions) error{
		awsconfig.WithHTTPClient(httpClient),
		awsconfig.WithAppID(userAgent),
		awsconfig.WithLogger(logging.LoggerFunc(func(cl logging.Classification, format string, v ...any) {
			if log != nil {
				log(cl == logging.Warn, "AWS SDK: "+fmt.Sprintf(format, v...))
			}
		})),
	}
	if c.Region != "" {
		opts = append(opts, awsconfig.WithRegion(c.Region))
	}
	if c.EndpointURL != "" {
		opts = append(opts, awsconfig.WithBaseEndpoint(c.EndpointURL))
	}
	cfg, err := awsconfig.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("load AWS configuration: %w", err)
	}
	if cfg.Region == "" {
		return nil, fmt.Errorf("region: not set and not found in queue_url %q, AWS_REGION or the AWS profile", c.QueueURL)
	}
	if c.RoleARN != "" {
		stsClient := sts.NewFromConfig(cfg)
		provider := stscreds.NewAssumeRoleProvider(stsClient, c.RoleARN, func(o *stscreds.AssumeRoleOptions) {
			if c.ExternalID != "" {
				o.ExternalID = aws.String(c.ExternalID)
			}
			o.RoleSessionName = c.RoleSessionName
			o.Duration = time.Hour
		})
		// The cache refreshes the assumed credentials a few minutes before
		// they expire so that no request is made with expired ones.
		cfg.Credentials = aws.NewCredentialsCache(provider, func(o *aws.CredentialsCacheOptions) {
			o.ExpiryWindow = 5 * time.Minute
			o.ExpiryWindowJitterFrac = 0.2
		})
	}
	return &Clients{
		conns:  conns,
		Config: cfg,
		SQS:    sqs.NewFromConfig(cfg),
		S3: s3.NewFromConfig(cfg, func(o *s3.Options) {
			o.UsePathStyle = c.S3PathStyle
			// Emulators send no checksum headers; the SDK would log a
			// warning on every GetObject. Integrity is checked by gzip's CRC.
			o.DisableLogOutputChecksumValidationSkipped = true
		}),
	}, nil
}

// connTracker remembers the connections a transport opened. The SDK's
// BuildableClient hides its transport, so its idle connections cannot be
// closed through it; closing the connections themselves does the same.
type connTracker struct {
	mu   sync.Mutex
	open map[*trackedConn]struct{}
}

type trackedConn struct {
	net.Conn
	t *connTracker
}

func (c *trackedConn) Close() error {
	c.t.mu.Lock()
	delete(c.t.open, c)
	c.t.mu.Unlock()
	return c.Conn.Close()
}

func (t *connTracker) wrap(dial func(ctx context.Context, network, addr string) (net.Conn, error)) func(ctx context.Context, network, addr string) (net.Conn, error) {
	if dial == nil {
		dial = (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	}
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		conn, err := dial(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		tc := &trackedConn{Conn: conn, t: t}
		t.mu.Lock()
		t.open[tc] = struct{}{}
		t.mu.Unlock()
		return tc, nil
	}
}

func (t *connTracker) closeAll() {
	t.mu.Lock()
	conns := make([]*trackedConn, 0, len(t.open))
	for c := range t.open {
		conns = append(conns, c)
	}
	t.mu.Unlock()
	for _, c := range conns {
		c.Close()
	}
}
