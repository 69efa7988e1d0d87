package main

import (
	"context"
	"flag"
	"fmt"
	"runtime"
	"runtime/debug"
)

var versionCommand = &command{
	name:    "version",
	args:    "[--json]",
	summary: "print segmentkit's version and the Go version it was built with",
	flags: func(fs *flag.FlagSet) func(context.Context, *cli) int {
		jsonOut := jsonFlag(fs)
		return func(ctx context.Context, c *cli) int { return c.version(*jsonOut) }
	},
}

// versionInfo is what version prints.
type versionInfo struct {
	Version  string `json:"version"`
	Module   string `json:"module"`
	Go       string `json:"go"`
	Revision string `json:"revision,omitempty"`
	Time     string `json:"time,omitempty"`
	Modified bool   `json:"modified,omitempty"`
}

// buildVersion reads the version from the build information: the module
// version for "go install module@version", "(devel)" for a build in the
// source tree, with the VCS revision when the build recorded it.
func buildVersion() versionInfo {
	v := versionInfo{Version: "(unknown)", Module: "github.com/segmentkit/segmentkit", Go: runtime.Version()}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return v
	}
	if bi.Main.Path != "" {
		v.Module = bi.Main.Path
	}
	if bi.Main.Version != "" {
		v.Version = bi.Main.Version
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			v.Revision = s.Value
		case "vcs.time":
			v.Time = s.Value
		case "vcs.modified":
			v.Modified = s.Value == "true"
		}
	}
	return v
}

func (c *cli) version(jsonOut bool) int {
	v := buildVersion()
	if jsonOut {
		return c.emit(v)
	}
	line := fmt.Sprintf("segmentkit %s (%s, %s)", v.Version, v.Module, v.Go)
	if v.Revision != "" {
		line += ", revision " + v.Revision
		if v.Modified {
			line += " (modified)"
		}
	}
	fmt.Fprintln(c.out, line)
	return exitOK
}
