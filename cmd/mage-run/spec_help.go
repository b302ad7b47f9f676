package main

// specHelp is `mage-run help spec`: the spec format in brief, so that the
// binary alone is enough to write one. The full reference is the
// project's docs/mage-run.md; keep the two in step.
const specHelp = `A spec is an HCL file of process blocks, nested to form the tree, and pipe
blocks that join attachments of two processes.

  process "NAME" {
    command      = ["prog", "arg"]  # required; prog is looked up in PATH unless it has a /
    env          = { K = "v" }      # added to mage-run's environment; wins over env_file
    env_file     = "app.env"        # dotenv KEY=VALUE lines (or a list of files)
    dir          = "sub"            # working directory (relative: to the spec's directory,
                                    # which is also the default)
    count        = 1                # replicas
    stop_signal  = "TERM"           # what stops it; SIGKILL after stop_timeout
    stop_timeout = "5s"
    accept_timeout = "10s"          # for an invited process to accept its invitation
    invite       = true             # false: a program that does not use mage (no pipes)
    on_demand    = false            # launched by its parent through Supervisor.Launch
    after        = ["db:ready"]     # siblings to wait for: NAME[:started|ready|completed]
                                    # (or { db = "ready" }); stopped after this one
    restart {
      policy      = "on-failure"    # never, on-failure or always
      backoff     = "100ms"         # first delay; doubles up to max_backoff
      max_backoff = "10s"
      limit       = 3               # restarts in a row before giving up (0: no limit)
      reset_after = "10s"           # a run this long forgets the restarts before it
      jitter      = 0.2             # random fraction taken off each delay
    }
    required     = false            # true: failing for good stops the whole tree
    announce     = "on (\\S+)"       # regexp: its first group is {address}
    ready {                         # when it is ready; one of exec, tcp, http, file,
      tcp    = "{address}"          #   line (a regexp on its output), supervisor = true
      period = "1s"                 # also timeout, initial_delay, success_threshold,
    }                               #   failure_threshold (0: never give up)
    health {                        # checked once ready; failing stops it (then restart)
      http              = "http://{address}/healthz"
      failure_threshold = 3
    }
    log {                           # also write its stdout and stderr to a file
      file         = "logs/{name}.log"  # {name}: the instance; relative: to the spec
      max_size_mb  = 100            # rotated beyond this (the old file gets a timestamp)
      max_backups  = 5              # rotated files kept (0: all)
      max_age_days = 0              # days a rotated file is kept (0: no limit)
      compress     = false          # gzip rotated files
    }
    process "CHILD" { ... }         # started once its parent runs, stopped before it
  }

  log { ... }                       # at the top level: every process's default

  pipe {
    from = "a.x"                    # process a finds its end at attachment x
    to   = "b.y"
  }

Values may use ${...}, the variable env (mage-run's environment: env.HOME,
lookup(env, "PORT", "8080")) and functions such as upper, lower, join,
split, format, replace, coalesce, concat, merge and trimspace.

Names are unique across the spec. The attachment "mage-run" is reserved for
the supervisor interface. 'mage-run check SPEC' reports every problem at its
position.
`
