// Package architecture holds no code: its test checks that the package graph
// drawn in docs/architecture.md is the one the Go sources import, so that the
// map of the project cannot drift from the project.
package architecture
