// Package emu starts the project's AWS emulator (kumo, wrapped by
// test/awsemu) as a separate process for tests, the demo and the load test,
// and gives AWS SDK clients and seeding helpers for it.
package emu

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// Region and Account are what the emulator uses.
const (
	Region  = "us-east-1"
	Account = "000000000000"
)

// Server is a running emulator process.
type Server struct {
	URL string // http://127.0.0.1:PORT
	cmd *exec.Cmd
	log *lockedBuffer
	cfg aws.Config
}

// Root returns the project's root directory, found from this source file.
func Root() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// Binary returns the emulator binary, building it into build/awsemu when it
// is missing. $AWSEMU overrides the path.
func Binary() (string, error) {
	if p := os.Getenv("AWSEMU"); p != "" {
		return p, nil
	}
	bin := filepath.Join(Root(), "build", "awsemu")
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Dir = filepath.Join(Root(), "test", "awsemu")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build emulator: %v\n%s", err, out)
	}
	return bin, nil
}

// Start starts a new emulator on a free loopback port and waits until it
// answers. Stop it with Close.
func Start() (*Server, error) {
	bin, err := Binary()
	if err != nil {
		return nil, err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := l.Addr().String()
	l.Close()
	s := &Server{URL: "http://" + addr, log: &lockedBuffer{}}
	s.cmd = exec.Command(bin, "-httptest.serve="+addr)
	s.cmd.Stdout, s.cmd.Stderr = s.log, s.log
	if err := s.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start emulator: %w", err)
	}
	exited := make(chan struct{})
	go func() { s.cmd.Wait(); close(exited) }()
	deadline := time.Now().Add(15 * time.Second)
	for {
		select {
		case <-exited:
			return nil, fmt.Errorf("emulator exited at start: %s", s.log.String())
		default:
		}
		if strings.Contains(s.log.String(), "serving on") {
			if resp, err := http.Get(s.URL + "/"); err == nil {
				resp.Body.Close()
				break
			}
		}
		if time.Now().After(deadline) {
			s.Close()
			return nil, fmt.Errorf("emulator not ready after 15s: %s", s.log.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	s.cfg = aws.Config{
		Region:       Region,
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
		BaseEndpoint: aws.String(s.URL),
	}
	return s, nil
}

// Close stops the emulator.
func (s *Server) Close() {
	if s.cmd != nil && s.cmd.Process != nil {
		s.cmd.Process.Kill()
	}
}

// PID returns the emulator's process ID, for measuring its CPU and memory.
func (s *Server) PID() int {
	if s.cmd == nil || s.cmd.Process == nil {
		return 0
	}
	return s.cmd.Process.Pid
}

// Log returns what the emulator printed.
func (s *Server) Log() string { return s.log.String() }

// Env returns the environment variables that point an AWS SDK at the emulator.
func (s *Server) Env() []string {
	return []string{
		"AWS_ENDPOINT_URL=" + s.URL,
		"AWS_REGION=" + Region,
		"AWS_ACCESS_KEY_ID=test",
		"AWS_SECRET_ACCESS_KEY=test",
		"AWS_EC2_METADATA_DISABLED=true",
	}
}

// SQS returns an SQS client for the emulator.
func (s *Server) SQS() *sqs.Client { return sqs.NewFromConfig(s.cfg) }

// S3 returns an S3 client for the emulator.
func (s *Server) S3() *s3.Client {
	return s3.NewFromConfig(s.cfg, func(o *s3.Options) {
		o.UsePathStyle = true
		o.DisableLogOutputChecksumValidationSkipped = true
	})
}

// CreateQueue creates a queue and returns its URL.
func (s *Server) CreateQueue(ctx context.Context, name string, attrs map[string]string) (string, error) {
	out, err := s.SQS().CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name), Attributes: attrs})
	if err != nil {
		return "", fmt.Errorf("create queue %s: %w", name, err)
	}
	return aws.ToString(out.QueueUrl), nil
}

// QueueARN is the ARN of a queue of the emulator.
func QueueARN(name string) string { return "arn:aws:sqs:" + Region + ":" + Account + ":" + name }

// CreateBucket creates a bucket; when queueName is not empty, object
// creation in the bucket is notified to that queue by the emulator, as S3
// does.
func (s *Server) CreateBucket(ctx context.Context, bucket, queueName string) error {
	c := s.S3()
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		return fmt.Errorf("create bucket %s: %w", bucket, err)
	}
	if queueName == "" {
		return nil
	}
	_, err := c.PutBucketNotificationConfiguration(ctx, &s3.PutBucketNotificationConfigurationInput{
		Bucket: aws.String(bucket),
		NotificationConfiguration: &s3types.NotificationConfiguration{
			QueueConfigurations: []s3types.QueueConfiguration{{
				QueueArn: aws.String(QueueARN(queueName)),
				Events:   []s3types.Event{"s3:ObjectCreated:*"},
			}},
		},
	})
	if err != nil {
		return fmt.Errorf("bucket %s notification: %w", bucket, err)
	}
	return nil
}

// Put uploads an object.
func (s *Server) Put(ctx context.Context, bucket, key string, body []byte) error {
	_, err := s.S3().PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(body)})
	if err != nil {
		return fmt.Errorf("put s3://%s/%s: %w", bucket, key, err)
	}
	return nil
}

// Send sends a raw message body to a queue.
func (s *Server) Send(ctx context.Context, queueURL, body string) error {
	_, err := s.SQS().SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(queueURL), MessageBody: aws.String(body)})
	return err
}

// Depth returns the queue's visible and in-flight message counts.
func (s *Server) Depth(ctx context.Context, queueURL string) (visible, inflight int, err error) {
	out, err := s.SQS().GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl: aws.String(queueURL),
		AttributeNames: []sqstypes.QueueAttributeName{
			sqstypes.QueueAttributeNameApproximateNumberOfMessages,
			sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible,
		},
	})
	if err != nil {
		return 0, 0, err
	}
	fmt.Sscan(out.Attributes[string(sqstypes.QueueAttributeNameApproximateNumberOfMessages)], &visible)
	fmt.Sscan(out.Attributes[string(sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible)], &inflight)
	return visible, inflight, nil
}

// WaitEmpty waits until the queue has no visible and no in-flight message.
func (s *Server) WaitEmpty(ctx context.Context, queueURL string) error {
	for {
		v, f, err := s.Depth(ctx, queueURL)
		if err == nil && v == 0 && f == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return errors.Join(ctx.Err(), fmt.Errorf("queue %s: %d visible, %d in flight", queueURL, v, f))
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// Visible receives, and gives back at once, every message that can be
// received from the queue now, and returns how many there were. The
// emulator's queue attributes lag behind visibility changes; a receive is
// the ground truth.
func (s *Server) Visible(ctx context.Context, queueURL string) (int, error) {
	c := s.SQS()
	n := 0
	var handles []string
	for {
		out, err := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(queueURL), MaxNumberOfMessages: 10, WaitTimeSeconds: 0, VisibilityTimeout: 30})
		if err != nil {
			return n, err
		}
		if len(out.Messages) == 0 {
			break
		}
		for _, m := range out.Messages {
			n++
			handles = append(handles, aws.ToString(m.ReceiptHandle))
		}
	}
	for _, h := range handles {
		c.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{QueueUrl: aws.String(queueURL), ReceiptHandle: aws.String(h), VisibilityTimeout: 0})
	}
	return n, nil
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
