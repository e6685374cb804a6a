// Command awsemu runs kumo, an in-memory emulator of SQS, S3 and STS (with real
// S3-to-SQS event notifications), as a standalone process for the tests and the demo.
//
// kumo.NewServer is an httptest.Server: start this with -httptest.serve=ADDR and the
// standard net/http/httptest flag makes it listen on ADDR until killed. kumo's own
// cmd/kumo does not build from the module proxy, so this wrapper lives in its own
// module and keeps kumo out of the plugin's go.mod.
package main

import (
	"flag"

	"github.com/sivchari/kumo"
)

func main() {
	flag.Parse()
	kumo.NewServer()
	select {}
}
