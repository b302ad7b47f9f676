// Package view shows a running tree to people: a live table redrawn in
// place on a terminal, one line per change otherwise, and a summary table
// at the end.
//
// On a terminal the live table and the log share the screen: the Live
// view's log writer erases the table, writes the log lines, and draws the
// table again below them, so neither overwrites the other.
package view
