// Package control is the contract between corral's engine and its clients:
// the wire types of the control API (ServiceStatus, State, ConfigDiff, the
// requests, results and their Codes), the sentinel errors the engine
// returns, the client that supervisorctl uses over the unix socket (which
// checks who serves it before sending anything: see UntrustedError), and
// supervisord's text formats (status lines, uptimes, reread/update lines).
//
// It imports nothing of the engine, so a client links neither the TOML
// decoder nor the file watcher; the server is in control/server.
package control
