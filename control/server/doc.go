// Package server is corral's control server: HTTP with JSON over a unix
// socket that only root (or a configured group) may use, plus the Prometheus
// text exposition of the engine's metrics. It drives a Controller (the
// engine implements it) and never imports the engine; the wire types and the
// client are in package control.
//
// The API, all under /v1 except /metrics:
//
//	GET  /v1/status[?name=N...]   control.StatusResponse (all services when no name)
//	POST /v1/start                control.NamesRequest -> ResultsResponse
//	POST /v1/stop                 control.NamesRequest -> ResultsResponse
//	POST /v1/restart              control.NamesRequest -> ResultsResponse
//	POST /v1/signal               control.SignalRequest -> ResultsResponse
//	GET  /v1/pid                  control.PIDResponse (corral's own pid)
//	GET  /v1/tail?name=&stream=stdout|stderr&bytes=N|lines=N&follow=1
//	                              the log's bytes as text/plain; follow streams
//	POST /v1/reread               control.ConfigDiff (changes nothing)
//	POST /v1/update               control.ConfigDiff (applied)
//	POST /v1/shutdown             empty 200
//	GET  /v1/version              control.VersionResponse
//	GET  /metrics                 Prometheus text exposition 0.0.4
//
// The socket is created only in a directory no one but root and corral's
// user can change (Listen), and the connections are bounded (Serve):
// Options.MaxConns at once, Options.IdleTimeout without a request, and
// none that would leave fewer than Options.FDReserve descriptors free.
//
// Names follow supervisorctl: "all", "name", "name:name" and "name:*" (each
// service is its own group). Errors are a control.ErrorResponse with an HTTP status
// and a control.Code.
package server
