/* svc: the service of bench/s6, the same binary under every supervisor (as
 * ./run, through a symlink): it appends "ready NS" to /tmp/stamps, writes a
 * newline on descriptor 3 (the notification-fd) when it is open, waits for
 * SIGTERM, appends "exit NS" and exits 0. NS is CLOCK_MONOTONIC in
 * nanoseconds. */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

static long long now(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void emit(const char *what) {
	char buf[64];
	int fd = open("/tmp/stamps", O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	int n = snprintf(buf, sizeof buf, "%s %lld\n", what, now());
	if (fd < 0 || write(fd, buf, n) != n) {
		_exit(111);
	}
	close(fd);
}

static volatile sig_atomic_t stop;

static void onterm(int sig) {
	(void)sig;
	stop = 1;
}

int main(void) {
	struct sigaction sa = {0};
	sigset_t mask, old;

	sa.sa_handler = onterm;
	sigaction(SIGTERM, &sa, NULL);
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigprocmask(SIG_BLOCK, &mask, &old);
	emit("ready");
	if (fcntl(3, F_GETFD) >= 0) {
		if (write(3, "\n", 1) != 1) {
			_exit(111);
		}
		close(3);
	}
	while (!stop) {
		sigsuspend(&old);
	}
	emit("exit");
	return 0;
}
