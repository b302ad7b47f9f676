package main

import (
	"fmt"
	"runtime/debug"
	"strings"

	"github.com/urfave/cli/v2"
)

// helpCommand is `mage-run help [COMMAND|spec]`: help for a command, or
// the spec format, from the binary alone.
func helpCommand() *cli.Command {
	return &cli.Command{
		Name:      "help",
		Usage:     "show help for a command, or the spec format (help spec)",
		ArgsUsage: "[COMMAND|spec]",
		Action: func(c *cli.Context) error {
			switch topic := c.Args().First(); {
			case c.NArg() > 1:
				return usageError("help takes at most one topic, got %d", c.NArg())
			case topic == "":
				return cli.ShowAppHelp(c)
			case topic == "spec":
				_, err := fmt.Fprint(c.App.Writer, specHelp)
				return err
			case c.App.Command(topic) != nil:
				// Commands are looked up below the app's context, not help's.
				return cli.ShowCommandHelp(c.Lineage()[1], topic)
			default:
				return usageError("unknown help topic %q: want spec or a command (%s)", topic, commandList(c.App.Commands))
			}
		},
	}
}

// commandList names the commands, for usage errors.
func commandList(commands []*cli.Command) string {
	names := make([]string, 0, len(commands))
	for _, c := range commands {
		if !c.Hidden {
			names = append(names, c.Name)
		}
	}
	return strings.Join(names, ", ")
}

// version is what --version prints: the module version the binary was
// built at, or its VCS revision, or "devel" when the build recorded
// neither (go run, a test binary).
func version() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "devel"
	}
	if v := info.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	var rev, modified string
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				modified = "+dirty"
			}
		}
	}
	if rev == "" {
		return "devel"
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	return "devel-" + rev + modified
}
