// Package control is corral's control server and its client: HTTP with JSON
// over a unix socket that only root (or a configured group) may use, plus the
// Prometheus text exposition of the engine's metrics.
//
// The API, all under /v1 except /metrics:
//
//	GET  /v1/status[?name=N...]   StatusResponse (all services when no name)
//	POST /v1/start                NamesRequest -> ResultsResponse
//	POST /v1/stop                 NamesRequest -> ResultsResponse
//	POST /v1/restart              NamesRequest -> ResultsResponse
//	POST /v1/signal               SignalRequest -> ResultsResponse
//	GET  /v1/pid                  PIDResponse (corral's own pid)
//	GET  /v1/tail?name=&stream=stdout|stderr&bytes=N|lines=N&follow=1
//	                              the log's bytes as text/plain; follow streams
//	POST /v1/reread               supervisor.ConfigDiff (changes nothing)
//	POST /v1/update               supervisor.ConfigDiff (applied)
//	POST /v1/shutdown             empty 200
//	GET  /v1/version              VersionResponse
//	GET  /metrics                 Prometheus text exposition 0.0.4
//
// Names follow supervisorctl: "all", "name", "name:name" and "name:*" (each
// service is its own group). Errors are an ErrorResponse with an HTTP status
// and a Code.
package control
