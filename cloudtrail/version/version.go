// Package version holds the release of the plugin and its commands, set at
// build time from git (make: -ldflags -X, git describe --tags --always
// --dirty), so that a log line or a bug report names the exact build.
package version

// Version is "dev" in a build that did not set it.
var Version = "dev"
