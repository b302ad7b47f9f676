package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"github.com/mage-ipc/mage/cmd/mage-run/internal/spec"
	"github.com/urfave/cli/v2"
)

// checkCommand is `mage-run check SPEC`.
func checkCommand() *cli.Command {
	return &cli.Command{
		Name:      "check",
		Usage:     "check a spec file without running anything",
		ArgsUsage: "SPEC",
		Description: "Reports every problem in the spec, each as file:line:col: message with the\n" +
			"source line. Exit status: 0 when the spec is valid, 2 when it is not.",
		Action: func(c *cli.Context) error {
			path, s, err := loadSpecArg(c)
			if err != nil {
				return err
			}
			n := 0
			s.Walk(func(*spec.Process) { n++ })
			fmt.Fprintf(c.App.Writer, "%s: ok (%s, %s)\n", path,
				plural(n, "process", "processes"), plural(len(s.Pipes), "pipe", "pipes"))
			return nil
		},
	}
}

// graphCommand is `mage-run graph [--format dot|mermaid] SPEC`.
func graphCommand() *cli.Command {
	return &cli.Command{
		Name:      "graph",
		Usage:     "print a spec's tree of processes and its pipes as Graphviz DOT or Mermaid",
		ArgsUsage: "SPEC",
		Description: "Tree edges (parent to child) are solid arrows, pipes dashed lines labelled\n" +
			"with their two attachments. Exit status: 0, or 2 when the spec is invalid.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "format", Value: "dot", Usage: "dot or mermaid"},
		},
		Action: func(c *cli.Context) error {
			var write func(io.Writer, *spec.Spec)
			switch f := c.String("format"); f {
			case "dot":
				write = writeDOT
			case "mermaid":
				write = writeMermaid
			default:
				return &statusError{code: exitUsage, msg: fmt.Sprintf("unknown graph format %q: want dot or mermaid", f)}
			}
			_, s, err := loadSpecArg(c)
			if err != nil {
				return err
			}
			var b bytes.Buffer
			write(&b, s)
			_, err = c.App.Writer.Write(b.Bytes())
			return err
		},
	}
}

// loadSpecArg loads the spec named by the command's one argument. An
// invalid spec's diagnostics go to stderr as they are, without the
// "mage-run: " prefix, so that each starts with its position.
func loadSpecArg(c *cli.Context) (string, *spec.Spec, error) {
	if c.NArg() != 1 {
		return "", nil, &statusError{code: exitUsage, msg: fmt.Sprintf("%s takes one argument, the spec file", c.Command.Name)}
	}
	path := c.Args().First()
	s, err := spec.Load(path)
	var specErr *spec.Error
	switch {
	case errors.As(err, &specErr):
		fmt.Fprintln(c.App.ErrWriter, specErr)
		return path, nil, &statusError{code: exitUsage}
	case err != nil:
		return path, nil, &statusError{code: exitUsage, msg: err.Error()}
	}
	return path, s, nil
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}
