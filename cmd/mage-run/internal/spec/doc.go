// Package spec reads mage-run's spec files: an HCL description of a tree
// of processes and the pipes that join their attachments.
//
// A spec is a list of process blocks, each possibly holding nested process
// blocks (its children in the tree), and pipe blocks that join the named
// attachment of one process to the named attachment of another:
//
//	process "browser" {
//	  command = ["./browser", "--flag"]
//	  restart {
//	    policy = "on-failure"
//	  }
//	  process "renderer" { command = ["./renderer"] }
//	}
//	pipe {
//	  from = "browser.net"
//	  to   = "renderer.net"
//	}
//
// Parse checks everything that can be checked without running anything and
// reports every problem at once, each at its position in the file; Load
// does the same for a file on disk and renders the diagnostics as text.
// The format is documented for users in docs/mage-run.md.
package spec
