package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/check"
	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/config"
)

// checkOnStart runs the connection checks of cloudtrail-check (check_on_start
// on) and logs one line per check. It returns an error made of the FAILED
// lines, which makes Init, and so Fluent Bit's start, fail.
func checkOnStart(cfg *config.Config, log *flbLogger) error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var failed []string
	check.Run(ctx, cfg, check.Options{
		Receive:   true,
		Timeout:   15 * time.Second,
		UserAgent: "fluent-bit-in_cloudtrail",
		Log: func(warn bool, msg string) {
			if warn {
				log.Warnf("%s", msg)
			}
		},
	}, func(r check.Result) {
		line := fmt.Sprintf("check %s %s: %s", r.Status, r.Check, r.Detail)
		switch r.Status {
		case check.Failed:
			log.Errorf("%s", line)
			failed = append(failed, r.Check+": "+r.Detail)
		case check.Warn:
			log.Warnf("%s", line)
		default:
			log.Infof("%s", line)
		}
	})
	if len(failed) > 0 {
		return fmt.Errorf("check_on_start: FAILED %s", strings.Join(failed, "; FAILED "))
	}
	return nil
}
