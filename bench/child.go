package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"runtime/trace"
	"strconv"
)

// childMain is the whole life of a child process serving role (a contender
// key or a chain role). It returns the exit status.
func childMain(role string) int {
	if err := childRun(role); err != nil {
		fmt.Fprintf(os.Stderr, "bench child %s: %v\n", role, err)
		return exitError
	}
	return exitOK
}

func childRun(role string) error {
	n, err := strconv.Atoi(os.Getenv(envChannels))
	if err != nil || n < 0 || n > 64 {
		return fmt.Errorf("bench: %s=%q is not a channel count", envChannels, os.Getenv(envChannels))
	}
	ctl, err := unixConn(os.NewFile(controlFD, "control"))
	if err != nil {
		return err
	}
	defer ctl.Close()
	env := &childEnv{handlers: map[string]controlHandler{"mallocs": mallocsHandler}, ready: make(chan struct{})}
	serve, err := childServe(role, env)
	if err != nil {
		return err
	}
	for i := range n {
		env.channels = append(env.channels, os.NewFile(uintptr(firstChannelFD+i), fmt.Sprintf("channel-%d", i)))
	}
	stopProfile, err := startProfile(os.Getenv(envProfile), role+"-child")
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	served := make(chan error, 1)
	go func() { served <- serve(ctx, env) }()
	// The control loop owns the process's life: when the parent closes the
	// socket, the child is done, whatever its channels are doing.
	ctlDone := make(chan error, 1)
	go func() { ctlDone <- serveControl(ctl, env.handlers) }()
	select {
	case err = <-ctlDone:
	case err = <-served:
		if err == nil {
			err = <-ctlDone
		}
	}
	if perr := stopProfile(); perr != nil && err == nil {
		err = perr
	}
	return err
}

// childServe finds what a child of role runs, and adds the control
// commands it answers to env before anything runs.
func childServe(role string, env *childEnv) (func(context.Context, *childEnv) error, error) {
	switch role {
	case chainRelayRole:
		env.handlers["collapse"] = collapseHandler(env)
		return serveChainRelay, nil
	case chainEndRole:
		return serveChainEnd, nil
	case "mage-typed":
		env.handlers["idle"] = idleHandler
	}
	c, err := findContender(role)
	if err != nil {
		return nil, err
	}
	return c.serve, nil
}

// startProfile starts a CPU profile of this process in dir, when dir is
// set, and returns the function that stops it and writes the allocation
// profile next to it. With BENCH_TRACE set (in the parent's environment,
// which the children inherit), it writes an execution trace instead of the
// CPU profile (name-trace.out, for go tool trace): where the goroutine
// hand-offs and wake-ups of a round trip go.
func startProfile(dir, name string) (func() error, error) {
	if dir == "" {
		return func() error { return nil }, nil
	}
	runtime.MemProfileRate = 4096
	if os.Getenv(envTrace) != "" {
		return startTrace(dir, name)
	}
	cpu, err := os.Create(filepath.Join(dir, name+"-cpu.pprof"))
	if err != nil {
		return nil, fmt.Errorf("bench: profile: %w", err)
	}
	if err := pprof.StartCPUProfile(cpu); err != nil {
		_ = cpu.Close()
		return nil, fmt.Errorf("bench: profile: %w", err)
	}
	return func() error {
		pprof.StopCPUProfile()
		if err := cpu.Close(); err != nil {
			return fmt.Errorf("bench: profile: %w", err)
		}
		return writeAllocProfile(dir, name)
	}, nil
}

// startTrace starts an execution trace of this process in dir.
func startTrace(dir, name string) (func() error, error) {
	out, err := os.Create(filepath.Join(dir, name+"-trace.out"))
	if err != nil {
		return nil, fmt.Errorf("bench: trace: %w", err)
	}
	if err := trace.Start(out); err != nil {
		_ = out.Close()
		return nil, fmt.Errorf("bench: trace: %w", err)
	}
	return func() error {
		trace.Stop()
		if err := out.Close(); err != nil {
			return fmt.Errorf("bench: trace: %w", err)
		}
		return writeAllocProfile(dir, name)
	}, nil
}

// writeAllocProfile writes this process's allocation profile into dir.
func writeAllocProfile(dir, name string) error {
	f, err := os.Create(filepath.Join(dir, name+"-alloc.pprof"))
	if err != nil {
		return fmt.Errorf("bench: profile: %w", err)
	}
	if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
		_ = f.Close()
		return fmt.Errorf("bench: profile: %w", err)
	}
	return f.Close()
}
