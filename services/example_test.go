package services_test

import (
	"fmt"

	"github.com/corralhq/corral/services"
)

// The example from the package documentation.
func ExampleParse() {
	src := `
command = ["/usr/bin/web", "--listen", ":${PORT}"]
after = ["migrate"]
stop_timeout = "20s"

[env]
DATABASE_URL = "postgres://${DB_HOST}/app"

[ready]
http = "http://127.0.0.1:${PORT}/health"
timeout = "30s"
`
	env := map[string]string{"PORT": "8080", "DB_HOST": "db"}
	svc, err := services.Parse("/etc/services.d/web.toml", []byte(src), services.LoadOptions{
		Env: func(k string) (string, bool) { v, ok := env[k]; return v, ok },
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(svc.Name, svc.Type, svc.Restart, svc.Command, svc.After)
	fmt.Println(svc.Env["DATABASE_URL"], svc.StopSignal, svc.StopTimeout)
	fmt.Println(svc.Ready.HTTP, svc.Ready.Timeout, svc.Ready.Interval)
	// Output:
	// web longrun always [/usr/bin/web --listen :8080] [migrate]
	// postgres://db/app terminated 20s
	// http://127.0.0.1:8080/health 30s 100ms
}

// A bad file gives an error naming the file, line and key.
func ExampleParse_error() {
	_, err := services.Parse("/etc/services.d/web.toml", []byte("command = [\"web\"]\nrestrat = \"always\"\n"), services.LoadOptions{})
	fmt.Println(err)
	// Output:
	// /etc/services.d/web.toml:2: key "restrat": unknown key (did you mean "restart"?)
}
