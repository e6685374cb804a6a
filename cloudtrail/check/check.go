// Package check is the plugin's connection check: it makes, one by one, the
// AWS calls the collector makes (or probes that need exactly the same IAM
// permission without changing anything), and reports each as one line with
// ok, warn or FAILED and, when something is wrong, the IAM action or setting
// to fix.
//
// It is used by the cloudtrail-check command and by the plugin itself when
// check_on_start is on. It never prints secrets: no credentials, no
// external_id.
//
// What is checked, in order (a failure that makes the next checks
// meaningless stops them):
//
//   - credentials: the SDK's default chain finds some, and from which source
//     (environment, shared profile, web identity/IRSA, ECS, EC2); the
//     principal is named with sts:GetCallerIdentity (which needs no
//     permission) so that it can be put in a trust or bucket policy;
//   - sts:AssumeRole with the external ID, when role_arn is set;
//   - sqs:GetQueueAttributes: visibility timeout, retention, backlog,
//     encryption, the queue policy (can S3/SNS/EventBridge send to it?) and
//     the redrive policy (is there a dead-letter queue? how full is it?);
//   - sqs:ReceiveMessage: SQS has no "peek", so this receives at most one
//     message with WaitTimeSeconds 0 and a 5 s visibility, and gives it back
//     at once with ChangeMessageVisibility 0 (which proves
//     sqs:ChangeMessageVisibility too). The only trace is that message's
//     receive count going up by one. Options.Receive false skips it;
//   - sqs:ChangeMessageVisibility and sqs:DeleteMessage, without touching a
//     message: SQS authorizes a request before it looks at the receipt
//     handle, so a call with an invalid handle answers ReceiptHandleIsInvalid
//     when the action is allowed and AccessDenied when it is not;
//   - s3:GetObject on a sample object: Options.SampleKey, or the first object
//     named by the message received above. HeadObject (s3:GetObject, no KMS)
//     reports the object's encryption; a 2-byte ranged GetObject then
//     proves kms:Decrypt when the object is SSE-KMS.
package check

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/awsapi"
	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/config"
	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/notify"
)

// Status is the outcome of one check.
type Status string

const (
	OK     Status = "ok"
	Warn   Status = "warn"
	Failed Status = "FAILED"
)

// Result is one line of the report.
type Result struct {
	Status Status
	Check  string // what was checked: an IAM action or a setting
	Detail string // what was found, and for warn and FAILED what to do
}

func (r Result) String() string {
	return fmt.Sprintf("%-6s %-27s %s", r.Status, r.Check, r.Detail)
}

// Options tune a run.
type Options struct {
	// SampleKey is an object to read, s3://bucket/key. Empty: the object
	// named by the message the receive probe got, if any.
	SampleKey string
	// Receive enables the receive probe (see the package comment).
	Receive bool
	// Wait is the long-poll wait of the receive probe (0 to 20 s); a
	// longer wait finds a sample message on a quiet queue.
	Wait time.Duration
	// Timeout bounds each AWS call; 0 means 15 s.
	Timeout time.Duration
	// UserAgent is added to the SDK's user agent.
	UserAgent string
	// Log receives the SDK's own warnings; nil discards them.
	Log func(warn bool, msg string)
}

// probeHandle is a receipt handle no message can have.
const probeHandle = "cloudtrail-check-probe-not-a-receipt-handle"

type run struct {
	ctx       context.Context
	cfg       *config.Config
	opts      Options
	report    func(Result)
	failed    int
	principal string // ARN of the identity whose permissions are checked
	clients   *awsapi.Clients
}

// Run checks cfg and calls report once per line, in order. It returns the
// number of FAILED lines.
func Run(ctx context.Context, cfg *config.Config, opts Options, report func(Result)) int {
	if opts.Timeout <= 0 {
		opts.Timeout = 15 * time.Second
	}
	if opts.UserAgent == "" {
		opts.UserAgent = "cloudtrail-check"
	}
	c := *cfg // the region found by the SDK is filled in
	r := &run{ctx: ctx, cfg: &c, opts: opts}
	r.report = func(res Result) {
		if res.Status == Failed {
			r.failed++
		}
		report(res)
	}
	r.all()
	return r.failed
}

func (r *run) ok(check, format string, a ...any) {
	r.report(Result{OK, check, fmt.Sprintf(format, a...)})
}
func (r *run) warn(check, format string, a ...any) {
	r.report(Result{Warn, check, fmt.Sprintf(format, a...)})
}
func (r *run) fail(check, format string, a ...any) {
	r.report(Result{Failed, check, fmt.Sprintf(format, a...)})
}

func (r *run) call() (context.Context, context.CancelFunc) {
	return context.WithTimeout(r.ctx, r.opts.Timeout)
}

func (r *run) all() {
	if !r.credentials() {
		return
	}
	if r.cfg.RoleARN != "" && !r.assumeRole() {
		return
	}
	sample := r.queue()
	if r.opts.SampleKey != "" {
		b, k, err := ParseS3URL(r.opts.SampleKey)
		if err != nil {
			r.fail("sample key", "%v", err)
			return
		}
		sample = &notify.Object{Bucket: b, Key: k}
	}
	r.object(sample)
	r.integrityKeys()
}

// newClients builds clients for cfg and remembers nothing.
func (r *run) newClients(cfg *config.Config) (*awsapi.Clients, error) {
	return awsapi.New(r.ctx, cfg, r.opts.UserAgent, r.opts.Log)
}

func closeIdle(c *awsapi.Clients) {
	if c == nil {
		return
	}
	if h, ok := c.Config.HTTPClient.(interface{ CloseIdleConnections() }); ok {
		h.CloseIdleConnections()
	}
}

// credentials checks the default chain (the identity that assumes role_arn
// when one is set).
func (r *run) credentials() bool {
	base := *r.cfg
	base.RoleARN, base.ExternalID = "", ""
	c, err := r.newClients(&base)
	if err != nil {
		r.fail("region", "%v: set region, or AWS_REGION", err)
		return false
	}
	defer closeIdle(c)
	r.cfg.Region = c.Config.Region
	ctx, cancel := r.call()
	defer cancel()
	creds, err := c.Config.Credentials.Retrieve(ctx)
	if err != nil {
		r.fail("credentials", "none found: %s. Set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or use IRSA "+
			"(AWS_ROLE_ARN + AWS_WEB_IDENTITY_TOKEN_FILE), an ECS task role or an EC2 instance profile", oneLine(err))
		return false
	}
	who := r.callerIdentity(c)
	if r.cfg.RoleARN == "" {
		r.principal = who
	}
	detail := "found: " + SourceName(creds.Source)
	if who != "" {
		detail += "; principal " + who
	}
	if !creds.Expires.IsZero() {
		detail += "; expire " + creds.Expires.UTC().Format(time.RFC3339)
	}
	r.ok("credentials", "%s", detail)
	if r.cfg.RoleARN == "" {
		r.clients = c
	}
	return true
}

// callerIdentity names the principal (sts:GetCallerIdentity needs no IAM
// permission). It returns "" when STS cannot be reached.
func (r *run) callerIdentity(c *awsapi.Clients) string {
	ctx, cancel := r.call()
	defer cancel()
	out, err := sts.NewFromConfig(c.Config).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return ""
	}
	return aws.ToString(out.Arn)
}

// SourceName turns aws.Credentials.Source into words.
func SourceName(src string) string {
	switch {
	case strings.HasPrefix(src, "EnvConfigCredentials"):
		return "environment (AWS_ACCESS_KEY_ID)"
	case strings.HasPrefix(src, "SharedConfigCredentials"):
		return "shared profile (" + strings.TrimSpace(strings.TrimPrefix(src, "SharedConfigCredentials:")) + ")"
	case strings.HasPrefix(src, "WebIdentityCredentials"):
		return "web identity (IRSA: AWS_ROLE_ARN + AWS_WEB_IDENTITY_TOKEN_FILE)"
	case strings.HasPrefix(src, "EC2RoleProvider"):
		return "EC2 instance profile (IMDS)"
	case strings.HasPrefix(src, "EndpointCredentialsProvider"):
		return "container credentials endpoint (ECS task role or EKS Pod Identity)"
	case strings.HasPrefix(src, "SSOProvider"):
		return "AWS IAM Identity Center (SSO) profile"
	case strings.HasPrefix(src, "ProcessProvider"):
		return "credential_process of the profile"
	case strings.HasPrefix(src, "AssumeRoleProvider"):
		return "role assumed by the profile (role_arn in the AWS config file)"
	case src == "":
		return "unknown source"
	}
	return src
}

func (r *run) assumeRole() bool {
	c, err := r.newClients(r.cfg)
	if err != nil {
		r.fail("region", "%v", err)
		return false
	}
	ctx, cancel := r.call()
	defer cancel()
	ext := "without external ID"
	if r.cfg.ExternalID != "" {
		ext = "with the external ID"
	}
	if _, err := c.Config.Credentials.Retrieve(ctx); err != nil {
		fix := "the role's trust policy must allow the principal above to call sts:AssumeRole"
		if r.cfg.ExternalID != "" {
			fix += " with Condition StringEquals sts:ExternalId equal to external_id"
		} else {
			fix += " (if the trust policy requires sts:ExternalId, set external_id)"
		}
		r.fail("sts:AssumeRole", "%s %s: %s; fix: %s, and the principal's own policy must allow sts:AssumeRole on %s",
			r.cfg.RoleARN, ext, errText(err), fix, r.cfg.RoleARN)
		closeIdle(c)
		return false
	}
	r.principal = r.callerIdentity(c)
	detail := r.cfg.RoleARN + " assumed " + ext
	if r.principal != "" {
		detail += "; principal " + r.principal
	}
	r.ok("sts:AssumeRole", "%s", detail)
	r.clients = c
	return true
}

// queue runs the SQS checks and returns the first object a received message
// names, if any.
func (r *run) queue() *notify.Object {
	defer closeIdle(r.clients)
	q := r.cfg.QueueURL
	ctx, cancel := r.call()
	out, err := r.clients.SQS.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl:       aws.String(q),
		AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameAll},
	})
	cancel()
	if err != nil {
		r.fail("sqs:GetQueueAttributes", "%s", r.denied(err, "sqs:GetQueueAttributes", queueARN(q, r.cfg.Region), "queue_url "+q))
		if queueMissing(err) || !isDenied(err) {
			return nil // the other SQS calls would fail the same way
		}
	} else {
		r.queueAttributes(out.Attributes)
	}
	var sample *notify.Object
	released := false
	if r.opts.Receive {
		sample, released = r.receive()
	} else {
		r.warn("sqs:ReceiveMessage", "not checked (receive probe off)")
	}
	if !released {
		r.invalidHandle("sqs:ChangeMessageVisibility", func(ctx context.Context) error {
			_, err := r.clients.SQS.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{
				QueueUrl: aws.String(q), ReceiptHandle: aws.String(probeHandle), VisibilityTimeout: 0,
			})
			return err
		})
	}
	r.invalidHandle("sqs:DeleteMessage", func(ctx context.Context) error {
		out, err := r.clients.SQS.DeleteMessageBatch(ctx, &sqs.DeleteMessageBatchInput{
			QueueUrl: aws.String(q),
			Entries:  []sqstypes.DeleteMessageBatchRequestEntry{{Id: aws.String("probe"), ReceiptHandle: aws.String(probeHandle)}},
		})
		if err == nil && len(out.Failed) > 0 {
			f := out.Failed[0]
			return &smithy.GenericAPIError{Code: aws.ToString(f.Code), Message: aws.ToString(f.Message)}
		}
		return err
	})
	return sample
}

func (r *run) queueAttributes(a map[string]string) {
	q := r.cfg.QueueURL
	secs := func(name string) (time.Duration, bool) {
		n, err := strconv.Atoi(a[name])
		return time.Duration(n) * time.Second, err == nil
	}
	vis, _ := secs("VisibilityTimeout")
	ret, _ := secs("MessageRetentionPeriod")
	parts := []string{
		"visibility timeout " + human(vis) + " (the plugin asks visibility_timeout " + human(r.cfg.VisibilityTimeout) + " on every receive)",
		"retention " + human(ret),
		a["ApproximateNumberOfMessages"] + " visible, " + a["ApproximateNumberOfMessagesNotVisible"] + " in flight",
	}
	if k := a["KmsMasterKeyId"]; k != "" {
		parts = append(parts, "encrypted with KMS key "+k+" (receiving needs kms:Decrypt on it; S3/SNS/EventBridge need kms:GenerateDataKey and kms:Decrypt to send)")
	} else if a["SqsManagedSseEnabled"] == "true" {
		parts = append(parts, "SQS-managed encryption")
	}
	r.ok("sqs:GetQueueAttributes", "%s", strings.Join(parts, "; "))

	if ret > 0 && ret < 24*time.Hour {
		r.warn("queue retention", "%s: notifications not read within %s are lost (the objects stay in S3); use 4 days or more (MessageRetentionPeriod)", human(ret), human(ret))
	}
	if strings.HasSuffix(q, ".fifo") {
		r.warn("queue type", "FIFO queue: S3 event notifications cannot be sent to FIFO queues (use a standard queue; EventBridge can target either)")
	}
	pol := a["Policy"]
	switch {
	case pol == "":
		r.warn("queue policy", "none: S3, SNS or EventBridge cannot send notifications to %s; add a queue policy allowing sqs:SendMessage to s3.amazonaws.com (or sns.amazonaws.com, events.amazonaws.com) for the trail bucket (see conf/aws)", q)
	case !strings.Contains(pol, "sqs:SendMessage") && !strings.Contains(pol, "sqs:*") && !strings.Contains(pol, `"*"`):
		r.warn("queue policy", "does not allow sqs:SendMessage: S3, SNS or EventBridge cannot send notifications to this queue")
	default:
		var services []string
		for _, s := range []string{"s3.amazonaws.com", "sns.amazonaws.com", "events.amazonaws.com"} {
			if strings.Contains(pol, s) {
				services = append(services, s)
			}
		}
		if len(services) > 0 {
			r.ok("queue policy", "allows sqs:SendMessage from %s", strings.Join(services, ", "))
		} else {
			r.ok("queue policy", "allows sqs:SendMessage (no AWS service principal named: fine for a cross-account SNS topic or a custom sender)")
		}
	}

	var rp struct {
		DeadLetterTargetArn string
		MaxReceiveCount     json.Number
	}
	if s := a["RedrivePolicy"]; s == "" || json.Unmarshal([]byte(s), &rp) != nil || rp.DeadLetterTargetArn == "" {
		r.warn("redrive policy", "none: a message that keeps failing (bad object, missing permission) is retried until retention ends and then lost; "+
			"set a RedrivePolicy with a dead-letter queue and maxReceiveCount 5 or more")
		return
	}
	maxRecv, _ := strconv.Atoi(rp.MaxReceiveCount.String())
	detail := fmt.Sprintf("dead-letter queue %s after %d receives", rp.DeadLetterTargetArn, maxRecv)
	if maxRecv > 0 && maxRecv < 3 {
		r.warn("redrive policy", "%s: too few; a restart or a throttled download can send a good message to the dead-letter queue; use 5 or more", detail)
	} else {
		r.ok("redrive policy", "%s", detail)
	}
	r.deadLetter(rp.DeadLetterTargetArn, ret)
}

// deadLetter reports the dead-letter queue's depth and retention. Reading it
// needs sqs:GetQueueAttributes on the dead-letter queue, which the plugin
// itself does not need: a denial is a warning.
func (r *run) deadLetter(arn string, srcRetention time.Duration) {
	dlq := dlqURL(r.cfg.QueueURL, arn)
	if dlq == "" {
		return
	}
	ctx, cancel := r.call()
	defer cancel()
	out, err := r.clients.SQS.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl: aws.String(dlq),
		AttributeNames: []sqstypes.QueueAttributeName{
			sqstypes.QueueAttributeNameApproximateNumberOfMessages,
			sqstypes.QueueAttributeNameMessageRetentionPeriod,
		},
	})
	if err != nil {
		if queueMissing(err) {
			r.fail("dead-letter queue", "%s does not exist: failed messages cannot be moved there; create it or fix the RedrivePolicy", arn)
		} else {
			r.warn("dead-letter queue", "not read (%s); optional: allow sqs:GetQueueAttributes on %s to see its depth here", errText(err), arn)
		}
		return
	}
	n, _ := strconv.Atoi(out.Attributes["ApproximateNumberOfMessages"])
	rs, _ := strconv.Atoi(out.Attributes["MessageRetentionPeriod"])
	ret := time.Duration(rs) * time.Second
	if ret > 0 && srcRetention > 0 && ret < srcRetention {
		r.warn("dead-letter queue", "retention %s is shorter than the queue's %s: SQS keeps a message's original enqueue time, so moved messages can expire at once; make it longer (14 days)", human(ret), human(srcRetention))
	}
	if n > 0 {
		r.warn("dead-letter queue", "%d message(s): notifications the plugin failed on; see its error lines, fix the cause, then redrive them (SQS console \"Start DLQ redrive\" or StartMessageMoveTask)", n)
		return
	}
	r.ok("dead-letter queue", "empty, retention %s", human(ret))
}

// receive receives at most one message and gives it back at once. It
// returns the first object the message names and whether a message was
// received (and sqs:ChangeMessageVisibility checked by giving it back).
func (r *run) receive() (*notify.Object, bool) {
	q := r.cfg.QueueURL
	ctx, cancel := context.WithTimeout(r.ctx, r.opts.Timeout+r.opts.Wait)
	out, err := r.clients.SQS.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
		QueueUrl:                    aws.String(q),
		MaxNumberOfMessages:         1,
		WaitTimeSeconds:             int32(r.opts.Wait / time.Second),
		VisibilityTimeout:           5,
		MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{sqstypes.MessageSystemAttributeNameApproximateReceiveCount},
	})
	cancel()
	if err != nil {
		r.fail("sqs:ReceiveMessage", "%s", r.denied(err, "sqs:ReceiveMessage", queueARN(q, r.cfg.Region), "queue_url "+q))
		return nil, false
	}
	if len(out.Messages) == 0 {
		r.ok("sqs:ReceiveMessage", "allowed (the queue had no message to show)")
		return nil, false
	}
	m := out.Messages[0]
	ctx, cancel = r.call()
	_, err = r.clients.SQS.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{
		QueueUrl: aws.String(q), ReceiptHandle: m.ReceiptHandle, VisibilityTimeout: 0,
	})
	cancel()
	r.ok("sqs:ReceiveMessage", "allowed: received message %s (receive count now %s) and gave it back at once",
		aws.ToString(m.MessageId), m.Attributes["ApproximateReceiveCount"])
	if err != nil {
		r.fail("sqs:ChangeMessageVisibility", "%s", r.denied(err, "sqs:ChangeMessageVisibility", queueARN(q, r.cfg.Region), ""))
	} else {
		r.ok("sqs:ChangeMessageVisibility", "allowed (the received message was made visible again)")
	}
	res, perr := notify.Parse([]byte(aws.ToString(m.Body)))
	switch {
	case perr != nil:
		r.warn("notification", "message %s is not a notification the plugin understands (it will fail and go to the dead-letter queue): %v", aws.ToString(m.MessageId), perr)
	case len(res.Objects) > 0:
		o := res.Objects[0]
		r.ok("notification", "%s notification for s3://%s/%s", res.Format, o.Bucket, o.Key)
		return &o, true
	default:
		reason := "nothing to read"
		if len(res.Ignored) > 0 {
			reason = res.Ignored[0].Reason
		}
		r.ok("notification", "%s message with no object to read (%s)", res.Format, reason)
	}
	return nil, true
}

// invalidHandle proves an action is allowed by calling it with a receipt
// handle no message has: SQS authorizes before it reads the handle.
func (r *run) invalidHandle(action string, call func(context.Context) error) {
	ctx, cancel := r.call()
	err := call(ctx)
	cancel()
	var ae smithy.APIError
	switch {
	case err == nil:
		r.ok(action, "allowed")
	case errors.As(err, &ae) && (strings.Contains(ae.ErrorCode(), "ReceiptHandleIsInvalid") || strings.Contains(ae.ErrorCode(), "MessageNotInflight") ||
		strings.Contains(ae.ErrorCode(), "InvalidParameterValue")):
		r.ok(action, "allowed (probed with an invalid receipt handle: no message touched)")
	default:
		r.fail(action, "%s", r.denied(err, action, queueARN(r.cfg.QueueURL, r.cfg.Region), ""))
	}
}

func (r *run) object(o *notify.Object) {
	if o == nil {
		r.warn("s3:GetObject", "not checked: no sample object (the queue showed no notification); pass -sample-key s3://BUCKET/AWSLogs/.../x.json.gz")
		return
	}
	loc := "s3://" + o.Bucket + "/" + o.Key
	if len(r.cfg.BucketAllow) > 0 && !slices.Contains(r.cfg.BucketAllow, o.Bucket) {
		r.fail("bucket_allowlist", "bucket %s is not in bucket_allowlist (%s): the plugin refuses its notifications; add it", o.Bucket, strings.Join(r.cfg.BucketAllow, ","))
	}
	if strings.Contains(o.Key, "CloudTrail-Digest") {
		if !r.cfg.Integrity {
			r.warn("sample object", "%s is a digest file, which the plugin skips (integrity off); pick a log file", loc)
		}
	}
	c := r.clients
	if c == nil {
		var err error
		if c, err = r.newClients(r.cfg); err != nil {
			r.fail("region", "%v", err)
			return
		}
	}
	defer closeIdle(c)
	resource := "arn:" + partition(r.cfg.Region) + ":s3:::" + o.Bucket + "/" + o.Key
	var owner *string
	if r.cfg.BucketOwner != "" {
		owner = aws.String(r.cfg.BucketOwner)
	}
	ctx, cancel := r.call()
	head, err := c.S3.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(o.Bucket), Key: aws.String(o.Key), ExpectedBucketOwner: owner})
	cancel()
	if err != nil {
		var ae smithy.APIError
		if errors.As(err, &ae) && ae.ErrorCode() == "NotFound" {
			// HEAD answers have no body; a GET says whether the bucket
			// or the key is missing.
			ctx, cancel := r.call()
			if _, gerr := c.S3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(o.Bucket), Key: aws.String(o.Key), Range: aws.String("bytes=0-0"), ExpectedBucketOwner: owner}); gerr != nil {
				err = gerr
			}
			cancel()
		}
		r.fail("s3:GetObject", "%s: %s", loc, r.s3Error(err, resource))
		return
	}
	sse := string(head.ServerSideEncryption)
	kmsKey := aws.ToString(head.SSEKMSKeyId)
	ctx, cancel = r.call()
	defer cancel()
	get, err := c.S3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(o.Bucket), Key: aws.String(o.Key), Range: aws.String("bytes=0-1"), ExpectedBucketOwner: owner})
	if err != nil {
		if strings.HasPrefix(sse, "aws:kms") {
			r.ok("s3:GetObject", "%s: allowed (HeadObject; %s bytes, %s)", loc, size(head.ContentLength), sse)
			r.fail("kms:Decrypt", "%s is encrypted with %s and could not be read: %s; fix: allow kms:Decrypt on key %s to %s (in its key policy or an IAM policy)",
				loc, sse, errText(err), or(kmsKey, "(the bucket's key)"), or(r.principal, "the reader"))
			return
		}
		r.fail("s3:GetObject", "%s: %s", loc, r.s3Error(err, resource))
		return
	}
	magic, _ := io.ReadAll(io.LimitReader(get.Body, 2))
	get.Body.Close()
	r.ok("s3:GetObject", "%s: allowed (%s bytes, encryption %s)", loc, size(head.ContentLength), or(sse, "none"))
	if strings.HasPrefix(sse, "aws:kms") {
		r.ok("kms:Decrypt", "allowed on %s (the SSE-KMS object was read)", or(kmsKey, "the bucket's key"))
	}
	if len(magic) > 0 && !(len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b) && magic[0] != '{' {
		r.warn("sample object", "%s is neither gzip nor JSON: not a CloudTrail log file", loc)
	}
}

func (r *run) s3Error(err error, resource string) string {
	var ae smithy.APIError
	code := ""
	if errors.As(err, &ae) {
		code = ae.ErrorCode()
	}
	switch code {
	case "NoSuchBucket":
		return "the bucket does not exist: check the bucket name"
	case "NoSuchKey", "NotFound":
		return "the object does not exist (a new notification will name a current one)"
	}
	if isDenied(err) {
		msg := fmt.Sprintf("access denied (%s); fix: allow s3:GetObject on %s to %s", errText(err), resource, or(r.principal, "the reader"))
		if r.cfg.BucketOwner != "" {
			msg += fmt.Sprintf(", and check that account %s owns the bucket (expected_bucket_owner)", r.cfg.BucketOwner)
		}
		return msg + ". A missing object also answers access denied when s3:ListBucket is not granted"
	}
	return errText(err)
}

// denied words an error of an SQS call: access denied names the action and
// resource to grant.
func (r *run) denied(err error, action, resource, setting string) string {
	if queueMissing(err) {
		return fmt.Sprintf("the queue does not exist: check %s and the region (%s)", or(setting, "queue_url"), or(r.cfg.Region, "from the SDK"))
	}
	if isDenied(err) {
		return fmt.Sprintf("access denied (%s); fix: allow %s on %s to %s", errText(err), action, resource, or(r.principal, "the reader"))
	}
	return errText(err)
}

func queueMissing(err error) bool {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		c := ae.ErrorCode()
		return strings.Contains(c, "NonExistentQueue") || strings.Contains(c, "QueueDoesNotExist")
	}
	return false
}

func isDenied(err error) bool {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch ae.ErrorCode() {
		case "AccessDenied", "AccessDeniedException", "AuthorizationError", "KMS.AccessDeniedException", "Forbidden":
			return true
		}
		if strings.Contains(ae.ErrorCode(), "AccessDenied") {
			return true
		}
	}
	var re *smithyhttp.ResponseError
	return errors.As(err, &re) && re.HTTPStatusCode() == 403
}

// errText is an error in one line: the API's code and message when it has
// them, the network error otherwise.
func errText(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		if m := ae.ErrorMessage(); m != "" {
			return ae.ErrorCode() + ": " + oneLine(errors.New(m))
		}
		return ae.ErrorCode()
	}
	var ne net.Error
	if errors.As(err, &ne) || errors.Is(err, context.DeadlineExceeded) {
		return "cannot reach AWS: " + oneLine(err) + " (check endpoint_url, proxy and network)"
	}
	return oneLine(err)
}

func oneLine(err error) string {
	s := strings.Join(strings.Fields(err.Error()), " ")
	if len(s) > 400 {
		s = s[:400] + "..."
	}
	return s
}

// ParseS3URL splits s3://bucket/key.
func ParseS3URL(s string) (bucket, key string, err error) {
	rest, ok := strings.CutPrefix(s, "s3://")
	b, k, ok2 := strings.Cut(rest, "/")
	if !ok || !ok2 || b == "" || k == "" {
		return "", "", fmt.Errorf("%q: not an S3 URL: use s3://BUCKET/KEY", s)
	}
	return b, k, nil
}

// queueARN derives the queue's ARN from its URL (https://sqs.REGION.amazonaws.com/ACCOUNT/NAME).
func queueARN(queueURL, region string) string {
	u, err := url.Parse(queueURL)
	if err != nil {
		return queueURL
	}
	parts := strings.Split(strings.Trim(u.Path, "/"), "/")
	if len(parts) != 2 {
		return queueURL
	}
	return "arn:" + partition(region) + ":sqs:" + or(region, "REGION") + ":" + parts[0] + ":" + parts[1]
}

// dlqURL derives a dead-letter queue's URL from the source queue's URL and
// the dead-letter queue's ARN: SQS requires both in the same account and
// region, so only the path changes.
func dlqURL(queueURL, arn string) string {
	f := strings.Split(arn, ":")
	u, err := url.Parse(queueURL)
	if len(f) != 6 || err != nil {
		return ""
	}
	u.Path = "/" + f[4] + "/" + f[5]
	return u.String()
}

func partition(region string) string {
	switch {
	case strings.HasPrefix(region, "cn-"):
		return "aws-cn"
	case strings.HasPrefix(region, "us-gov-"):
		return "aws-us-gov"
	}
	return "aws"
}

func human(d time.Duration) string {
	switch {
	case d >= 24*time.Hour && d%(24*time.Hour) == 0:
		return fmt.Sprintf("%dd", d/(24*time.Hour))
	case d >= time.Hour && d%time.Hour == 0:
		return fmt.Sprintf("%dh", d/time.Hour)
	case d >= time.Minute && d%time.Minute == 0:
		return fmt.Sprintf("%dm", d/time.Minute)
	}
	return d.String()
}

func size(n *int64) string {
	if n == nil {
		return "?"
	}
	return strconv.FormatInt(*n, 10)
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
