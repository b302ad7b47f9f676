package main

import (
	"errors"
	"flag"
	"fmt"
	gotoken "go/token"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/mage-ipc/mage/magen"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// Exit statuses.
const (
	exitOK    = 0
	exitError = 1 // a bad input file, or a file that could not be written
	exitUsage = 2
)

// run is magen's main, minus the process: it returns the exit status.
func run(args []string, stdout, stderr io.Writer) int {
	flags := flag.NewFlagSet("magen", flag.ContinueOnError)
	flags.SetOutput(stderr)
	outDir := flags.String("out", "", "write generated files into `DIR` instead of beside each input")
	pkg := flags.String("package", "", "Go package `NAME` of the generated files")
	flags.Usage = func() {
		fmt.Fprintln(stderr, "usage: magen [-out DIR] [-package NAME] FILE.magen...")
		flags.PrintDefaults()
	}
	if err := flags.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if flags.NArg() == 0 {
		flags.Usage()
		return exitUsage
	}
	outputs, err := generate(flags.Args(), *outDir, *pkg)
	if err != nil {
		magen.PrintError(stderr, err)
		return exitError
	}
	for _, o := range outputs {
		if err := writeFile(o.path, o.data); err != nil {
			fmt.Fprintf(stderr, "magen: %v\n", err)
			return exitError
		}
	}
	_ = stdout // magen prints nothing on success
	return exitOK
}

type output struct {
	path string
	data []byte
}

// generate loads and checks every input, then generates each; it writes
// nothing.
func generate(inputs []string, outDir, pkg string) ([]output, error) {
	files, err := magen.Load(inputs...)
	if err != nil {
		return nil, err
	}
	var errs magen.ErrorList
	var outputs []output
	seen := map[string]string{}
	for i, f := range files {
		path := outputPath(inputs[i], outDir)
		if prev, ok := seen[path]; ok {
			errs.Add(magen.Position{Filename: inputs[i]}, fmt.Sprintf("output %s would also be written for %s", path, prev))
			continue
		}
		seen[path] = inputs[i]
		name, err := packageName(f, pkg, filepath.Dir(path), outDir)
		if err != nil {
			errs.Add(magen.Position{Filename: inputs[i]}, err.Error())
			continue
		}
		data, err := magen.Generate(f, magen.Options{Package: name})
		if err != nil {
			errs.Add(magen.Position{Filename: inputs[i]}, err.Error())
			continue
		}
		outputs = append(outputs, output{path: path, data: data})
	}
	if err := errs.Err(); err != nil {
		return nil, err
	}
	return outputs, nil
}

// outputPath is FILE.magen.go beside the input, or in outDir.
func outputPath(input, outDir string) string {
	name := filepath.Base(input) + ".go"
	if outDir == "" {
		return filepath.Join(filepath.Dir(input), name)
	}
	return filepath.Join(outDir, name)
}

// packageName chooses the Go package of one output file.
func packageName(f *magen.File, flagPkg, dir, outDir string) (string, error) {
	if flagPkg != "" {
		return flagPkg, nil
	}
	if name := f.GoPackage(); name != "" {
		return name, nil
	}
	if env := os.Getenv("GOPACKAGE"); env != "" && sameDir(dir, ".") {
		return env, nil
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("magen: choosing a package name: %w", err)
	}
	if name := sanitize(filepath.Base(abs)); name != "" {
		return name, nil
	}
	return "", fmt.Errorf("magen: no Go package name for %s: add a package statement or pass -package", dir)
}

func sameDir(a, b string) bool {
	aa, err1 := filepath.Abs(a)
	bb, err2 := filepath.Abs(b)
	return err1 == nil && err2 == nil && aa == bb
}

// sanitize turns a directory name into a Go package name, or "".
func sanitize(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		switch {
		case r >= 'a' && r <= 'z', r == '_', r >= '0' && r <= '9' && b.Len() > 0:
			b.WriteRune(r)
		case r == '-' || r == '.':
			if b.Len() > 0 {
				b.WriteByte('_')
			}
		}
	}
	name := b.String()
	if !gotoken.IsIdentifier(name) {
		return ""
	}
	return name
}

// writeFile replaces path with data atomically, so that a reader never
// sees half a file.
func writeFile(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".magen-*.tmp")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // a no-op after the rename
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
