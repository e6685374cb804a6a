// Command demo runs the plugin's main job against a local default: it starts
// the AWS emulator, creates a queue and a bucket whose object-created events
// notify the queue (as S3 does), uploads the project's real CloudTrail files
// the way CloudTrail writes them, and runs Fluent Bit with conf/fluent-bit.conf
// so the records are printed to stdout. It stops once the queue is drained.
//
// Without a fluent-bit binary it says how to get one and runs the project's
// C host harness instead, which loads the plugin the way Fluent Bit does.
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/cloudtrail-fluentbit/in_cloudtrail/test/emu"
	"github.com/cloudtrail-fluentbit/in_cloudtrail/test/seed"
)

func main() {
	schema := flag.String("schema", "ocsf", "record schema: ocsf (normalized, as Amazon Security Lake stores CloudTrail), ecs or raw")
	follow := flag.Bool("follow", false, "keep running after the queue is drained (Ctrl-C to stop)")
	flag.Parse()
	if err := run(*schema, *follow); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

func run(schema string, follow bool) error {
	root := emu.Root()
	ctx := context.Background()
	srv, err := emu.Start()
	if err != nil {
		return err
	}
	defer srv.Close()
	fmt.Fprintf(os.Stderr, "demo: AWS emulator (kumo) on %s\n", srv.URL)

	queueURL, err := srv.CreateQueue(ctx, "cloudtrail-demo", nil)
	if err != nil {
		return err
	}
	const bucket = "demo-cloudtrail-bucket"
	if err := srv.CreateBucket(ctx, bucket, "cloudtrail-demo"); err != nil {
		return err
	}
	files, err := seed.Corpus(filepath.Join(root, "test", "testdata", "cloudtrail"))
	if err != nil {
		return err
	}
	events := 0
	for i, f := range files {
		key := seed.Key("123456789012", "us-east-1", i)
		if f.Digest {
			key = seed.DigestKey("123456789012", "us-east-1", i)
		}
		if err := srv.Put(ctx, bucket, key, seed.Gzip(f.JSON)); err != nil {
			return err
		}
		events += len(f.EventIDs)
	}
	fmt.Fprintf(os.Stderr, "demo: uploaded %d real CloudTrail files (%d events) to s3://%s; the emulator notified %s\n", len(files), events, bucket, queueURL)

	env := append(os.Environ(), srv.Env()...)
	env = append(env, "CLOUDTRAIL_QUEUE_URL="+queueURL, "CLOUDTRAIL_SCHEMA="+schema)
	so := filepath.Join(root, "build", "in_cloudtrail.so")

	var cmd *exec.Cmd
	fb := os.Getenv("FLUENT_BIT")
	if fb == "" {
		fb, _ = exec.LookPath("fluent-bit")
	}
	if fb != "" {
		fmt.Fprintf(os.Stderr, "demo: running %s -e %s -c conf/fluent-bit.conf\n", fb, so)
		// The example config loads the plugin from the Docker image's path
		// through plugins.conf; here -e loads the freshly built one instead.
		cfg, err := demoConfig(root)
		if err != nil {
			return err
		}
		defer os.Remove(cfg)
		cmd = exec.Command(fb, "-e", so, "-c", cfg)
	} else {
		fmt.Fprint(os.Stderr, noFluentBit(srv.URL, queueURL))
		cmd = exec.Command(filepath.Join(root, "build", "harness"), so, "--input", "cloudtrail",
			"queue_url="+queueURL, "schema="+schema, "--tag", "aws.cloudtrail")
	}
	cmd.Env = env
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	var printed atomic.Int64
	sum := newSummary()
	done := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 1<<20), 64<<20)
		for sc.Scan() {
			line := sc.Text()
			if strings.HasPrefix(line, "{") {
				printed.Add(1)
				sum.add(line)
			}
			fmt.Println(line)
		}
		io.Copy(io.Discard, out)
		close(done)
	}()

	if !follow {
		wctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
		err := srv.WaitEmpty(wctx, queueURL)
		cancel()
		time.Sleep(2 * time.Second) // let the output flush the last records
		cmd.Process.Signal(syscall.SIGTERM)
		<-done
		cmd.Wait()
		if err != nil {
			return fmt.Errorf("queue not drained: %w", err)
		}
		sum.print(os.Stderr)
		fmt.Fprintf(os.Stderr, "demo: done: %d records printed, %d expected; queue %s is empty\n", printed.Load(), events, queueURL)
		return nil
	}
	<-done
	return cmd.Wait()
}

// demoConfig writes conf/fluent-bit.conf without its plugins_file line.
func demoConfig(root string) (string, error) {
	b, err := os.ReadFile(filepath.Join(root, "conf", "fluent-bit.conf"))
	if err != nil {
		return "", err
	}
	var keep []string
	for _, l := range strings.Split(string(b), "\n") {
		if !strings.Contains(l, "plugins_file") {
			keep = append(keep, l)
		}
	}
	f, err := os.CreateTemp("", "cloudtrail-demo-*.conf")
	if err != nil {
		return "", err
	}
	defer f.Close()
	_, err = f.WriteString(strings.Join(keep, "\n"))
	return f.Name(), err
}

func noFluentBit(endpoint, queueURL string) string {
	return `demo: no fluent-bit found (looked at $FLUENT_BIT and PATH).
  To get one:
    - Debian/Ubuntu: add Fluent Bit's apt repository (see https://docs.fluentbit.io/manual/installation/linux),
      then: apt-get install fluent-bit   (installs /opt/fluent-bit/bin/fluent-bit), and run:
      FLUENT_BIT=/opt/fluent-bit/bin/fluent-bit make demo
    - Docker: make docker && docker run --rm --network host \
        -e CLOUDTRAIL_QUEUE_URL=` + queueURL + ` -e AWS_ENDPOINT_URL=` + endpoint + ` \
        -e AWS_REGION=us-east-1 -e AWS_ACCESS_KEY_ID=test -e AWS_SECRET_ACCESS_KEY=test in_cloudtrail
      (run it while this demo keeps the emulator up: make demo ARGS=-follow)
  Meanwhile the demo runs the project's C host harness, which loads build/in_cloudtrail.so
  exactly the way Fluent Bit does and prints each record as one JSON line:
`
}
