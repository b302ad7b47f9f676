// Package view shows a running tree to people: a live table on a
// terminal, one line per change otherwise (or JSON lines, for scripts),
// and a summary table at the end.
//
// The live view is a bubbletea program drawn inline, below the logs: a
// tick (4 a second) reads the tree's rows and prints the log lines kept
// since the last one above the table, so that a burst of logs costs one
// redraw, not one per line. The table scrolls to fit the terminal's
// height, follows the selected row, and keys act on the selected
// instance through the tree's control methods.
package view
