// Package all picks corral's built-in plugins: importing it for its side
// effects registers each of them with the supervisor.
package all
