/* svc: the benchmark's service. It takes its orders from the environment,
 * so every supervisor runs it the same way, with no arguments (s6 runs it as
 * ./run):
 *
 *   BENCH_OUT    file that lines are appended to (required)
 *   BENCH_MODE   stamp   append "start NS" and wait for a signal
 *                crash   append "start NS", "exit NS" and exit 1
 *                orphans append "start NS", double-fork BENCH_N orphans that
 *                        exit at once, append "created NS", wait until no
 *                        zombie is left in the PID namespace (or
 *                        BENCH_DEADLINE_MS passed), append "done NS ZOMBIES",
 *                        then wait for a signal
 *
 * NS is CLOCK_MONOTONIC in nanoseconds. */
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long long now(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void emit(const char *out, const char *what, long long ns, long extra, int with_extra) {
	char buf[128];
	int fd, n;

	fd = open(out, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (fd < 0) {
		_exit(111);
	}
	if (with_extra) {
		n = snprintf(buf, sizeof buf, "%s %lld %ld\n", what, ns, extra);
	} else {
		n = snprintf(buf, sizeof buf, "%s %lld\n", what, ns);
	}
	if (write(fd, buf, n) != n) {
		_exit(111);
	}
	close(fd);
}

/* zombies counts processes in state Z in /proc (the PID namespace's own,
 * mounted by unshare --mount-proc). */
static long zombies(void) {
	DIR *d = opendir("/proc");
	struct dirent *e;
	long count = 0;
	char path[300], buf[512];

	if (d == NULL) {
		return -1;
	}
	while ((e = readdir(d)) != NULL) {
		int fd;
		ssize_t n;
		char *p;

		if (e->d_name[0] < '0' || e->d_name[0] > '9') {
			continue;
		}
		snprintf(path, sizeof path, "/proc/%s/stat", e->d_name);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			continue; /* reaped meanwhile */
		}
		n = read(fd, buf, sizeof buf - 1);
		close(fd);
		if (n <= 0) {
			continue;
		}
		buf[n] = 0;
		p = strrchr(buf, ')'); /* comm may hold spaces */
		if (p != NULL && p[1] == ' ' && p[2] == 'Z') {
			count++;
		}
	}
	closedir(d);
	return count;
}

static void orphans(const char *out) {
	const char *s = getenv("BENCH_N");
	const char *dl = getenv("BENCH_DEADLINE_MS");
	long n = s ? atol(s) : 10000;
	long long deadline;
	long i, left;

	emit(out, "start", now(), 0, 0);
	for (i = 0; i < n; i++) {
		pid_t pid = fork();
		if (pid < 0) {
			emit(out, "forkfail", now(), i, 1);
			_exit(111);
		}
		if (pid == 0) {
			pid_t g = fork();
			if (g == 0) {
				_exit(0); /* the orphan: exits at once */
			}
			_exit(0); /* the middle child: leaves the orphan to PID 1 */
		}
		while (waitpid(pid, NULL, 0) < 0) {
		}
	}
	emit(out, "created", now(), 0, 0);
	deadline = now() + (dl ? atoll(dl) : 30000) * 1000000LL;
	for (;;) {
		left = zombies();
		if (left == 0 || now() > deadline) {
			break;
		}
		usleep(200);
	}
	emit(out, "done", now(), left, 1);
}

int main(void) {
	const char *out = getenv("BENCH_OUT");
	const char *mode = getenv("BENCH_MODE");

	if (out == NULL || mode == NULL) {
		fputs("svc: BENCH_OUT and BENCH_MODE must be set\n", stderr);
		return 100;
	}
	if (strcmp(mode, "stamp") == 0) {
		emit(out, "start", now(), 0, 0);
	} else if (strcmp(mode, "crash") == 0) {
		emit(out, "start", now(), 0, 0);
		emit(out, "exit", now(), 0, 0);
		_exit(1);
	} else if (strcmp(mode, "orphans") == 0) {
		orphans(out);
	} else {
		fprintf(stderr, "svc: unknown BENCH_MODE %s\n", mode);
		return 100;
	}
	for (;;) {
		pause();
	}
}
