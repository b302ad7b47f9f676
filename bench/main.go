package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"time"
)

func main() {
	if role, ok := os.LookupEnv(envChild); ok {
		os.Exit(childMain(role))
	}
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// Exit statuses.
const (
	exitOK    = 0
	exitError = 1
	exitUsage = 2
)

// run is the parent's main, minus the process: it returns the exit status.
func run(args []string, stdout, stderr io.Writer) int {
	cfg, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		fmt.Fprintln(stderr, err)
		return exitUsage
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	cfg.loadavg = loadAverage()
	start := time.Now()
	res, err := runAll(ctx, cfg, stderr)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return exitError
	}
	res.elapsed = time.Since(start)
	rep := newReport(cfg, res)
	fmt.Fprint(stdout, rep.summary())
	if cfg.out != "" {
		if err := rep.write(cfg.out, cfg.plot); err != nil {
			fmt.Fprintln(stderr, err)
			return exitError
		}
		fmt.Fprintf(stdout, "wrote %s and %s\n", cfg.out, cfg.plot)
	}
	return exitOK
}

// config is what the flags choose.
type config struct {
	reps     int
	quick    bool
	out      string
	plot     string
	only     map[string]bool // contender keys; empty means all
	work     map[string]bool // workload names; empty means all
	duration time.Duration   // per workload and contender, per repetition
	cold     int             // cold starts per contender and repetition
	profile  string          // directory for CPU and allocation profiles
	sizes    []int           // payload sizes of the round-trip and one-way workloads
	loadavg  string          // the machine's load when the run began
}

func (c *config) wants(contender, workload string) bool {
	return (len(c.only) == 0 || c.only[contender]) && (len(c.work) == 0 || c.work[workload])
}

func parseFlags(args []string, stderr io.Writer) (*config, error) {
	flags := flag.NewFlagSet("bench", flag.ContinueOnError)
	flags.SetOutput(stderr)
	reps := flags.Int("reps", 3, "repetitions; each runs every contender, in rotated order")
	quick := flags.Bool("quick", false, "smoke mode: one repetition, short workloads; writes nothing unless -out is given")
	out := flags.String("out", "", "write the report here (markdown), e.g. ../docs/performance.md")
	plot := flags.String("plot", "", "write the plot here (PNG); default: -out with .png")
	only := flags.String("only", "", "comma-separated contender keys to run (default all): "+strings.Join(contenderKeys(), ","))
	work := flags.String("work", "", "comma-separated workloads to run (default all): "+strings.Join(workloadNames(), ","))
	duration := flags.Duration("duration", 500*time.Millisecond, "time per workload, contender and repetition")
	cold := flags.Int("cold", 5, "cold starts per contender and repetition")
	profile := flags.String("profile", "", "write CPU and allocation profiles of parent and children into this directory")
	sizeList := flags.String("sizes", "", "comma-separated payload sizes in bytes (default 16,1024,65536,1048576)")
	flags.Usage = func() {
		fmt.Fprintln(stderr, "usage: bench [-quick] [-reps N] [-out file.md] [-only keys] [-work names] [-profile dir]")
		flags.PrintDefaults()
	}
	if err := flags.Parse(args); err != nil {
		return nil, err
	}
	if flags.NArg() != 0 {
		return nil, fmt.Errorf("bench: unexpected arguments %q", flags.Args())
	}
	cfg := &config{reps: *reps, quick: *quick, out: *out, plot: *plot, duration: *duration, cold: *cold, profile: *profile, sizes: defaultSizes}
	if cfg.quick {
		cfg.reps, cfg.duration, cfg.cold = 1, 40*time.Millisecond, 1
	}
	if cfg.reps < 1 || cfg.duration <= 0 || cfg.cold < 1 {
		return nil, fmt.Errorf("bench: -reps, -duration and -cold must be positive")
	}
	if cfg.out != "" && cfg.plot == "" {
		cfg.plot = strings.TrimSuffix(cfg.out, ".md") + ".png"
	}
	var err error
	if *sizeList != "" {
		if cfg.sizes, err = parseSizes(*sizeList); err != nil {
			return nil, err
		}
	}
	if cfg.only, err = keySet(*only, contenderKeys(), "contender"); err != nil {
		return nil, err
	}
	if cfg.work, err = keySet(*work, workloadNames(), "workload"); err != nil {
		return nil, err
	}
	return cfg, nil
}

// keySet parses a comma-separated list of names, each of which must be in
// known.
func keySet(list string, known []string, what string) (map[string]bool, error) {
	set := map[string]bool{}
	if list == "" {
		return set, nil
	}
	for _, k := range strings.Split(list, ",") {
		ok := false
		for _, name := range known {
			ok = ok || name == k
		}
		if !ok {
			return nil, fmt.Errorf("bench: unknown %s %q (known: %s)", what, k, strings.Join(known, ", "))
		}
		set[k] = true
	}
	return set, nil
}

// parseSizes parses a comma-separated list of payload sizes.
func parseSizes(list string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(list, ",") {
		n, err := strconv.Atoi(f)
		if err != nil || n < 1 || n > rawMaxPayload {
			return nil, fmt.Errorf("bench: payload size %q is not 1 to %d bytes", f, rawMaxPayload)
		}
		out = append(out, n)
	}
	return out, nil
}
