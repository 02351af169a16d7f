/* hold_procs: start N live processes ("/bin/sleep 3600" each), print
 * "ready <n>", then hold them until stdin reaches EOF (or a line arrives),
 * kill them all and reap them. Usage: hold_procs [N] */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static pid_t spawn_sleep(void)
{
	char *argv[] = { "/bin/sleep", "3600", NULL };
	pid_t pid = fork();

	if (pid == 0) {
		execv(argv[0], argv);
		_exit(127);
	}
	return pid;
}

static long spawn_all(pid_t *pids, long n)
{
	long i;

	for (i = 0; i < n; i++) {
		pids[i] = spawn_sleep();
		if (pids[i] < 0) {
			perror("hold_procs: fork");
			break;
		}
	}
	return i;
}

static void kill_all(const pid_t *pids, long n)
{
	long i;

	for (i = 0; i < n; i++)
		kill(pids[i], SIGKILL);
	for (i = 0; i < n; i++)
		waitpid(pids[i], NULL, 0);
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 10000;
	pid_t *pids = calloc((size_t)n, sizeof(*pids));
	char line[64];
	long got;

	if (!pids)
		return 1;
	got = spawn_all(pids, n);
	printf("ready %ld\n", got);
	fflush(stdout);
	if (!fgets(line, sizeof(line), stdin))
		line[0] = '\0';
	kill_all(pids, got);
	printf("released %ld\n", got);
	free(pids);
	return got == n ? 0 : 1;
}
