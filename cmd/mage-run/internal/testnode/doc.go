// Package testnode is a small program for mage-run's scenario tests
// (testdata/scripts): one binary whose arguments pick what it does as a
// process of a tree, so that a spec can describe a whole scenario.
//
//	testnode [-ready PATH] [-plain] ROLE [ARGS...]
//
// With -ready, the process appends "ready INSTANCE" to PATH once it has
// set itself up, or, for call, once its calls are answered (PATH is
// usually a named pipe the script waits on). The roles:
//
//	serve ATT                   serve Echo on ATT until its peer closes it, Quit, or SIGTERM
//	serve-peers ATT             serve Echo on every pipe the Peers stream ATT brings, until SIGTERM or Quit
//	call ATT TEXT...            call Echo.Say on ATT for each TEXT and print the replies
//	relay IN OUT                serve Echo on IN by calling Echo on OUT, until IN's peer closes it
//	reconnect ATT TEXT          call, Quit the server, get a new pipe from Supervisor.Reconnect, call again
//	launch PROC TEXT [ARGS...]  launch on-demand PROC, call Echo.Say on the pipe to it
//	launch-wait PROC            launch on-demand PROC and wait until it is gone
//	after-peer-gone W ATT TEXT  wait until the process on attachment W is gone, then call on ATT
//	ready-call                  call Supervisor.Ready, signal ready, run until SIGTERM
//	wait                        run until SIGTERM, then exit 0
//	stubborn                    signal ready, and again on SIGTERM, which it otherwise ignores
//	crash CODE                  exit with CODE
//	badmsg                      send mage-run a malformed Supervisor request, then wait
//
// Every role accepts its invitation first. With -plain, the process acts
// as a program that does not use mage and never accepts; its roles are
// listed at runPlain (crash CODE, wait, env NAME...).
package testnode

//go:generate go tool magen testnode.magen
