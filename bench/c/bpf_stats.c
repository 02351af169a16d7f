/* bpf_stats: switches on BPF run-time statistics (run_time_ns, run_cnt per
 * program, as bpftool prog show reports them) for as long as it runs: the
 * kernel keeps them on while the fd from BPF_ENABLE_STATS is open. Prints
 * "ready", then waits for stdin to reach EOF. */
#include <bpf/bpf.h>
#include <stdio.h>
#include <unistd.h>

int main(void)
{
	char buf[64];
	int fd = bpf_enable_stats(BPF_STATS_RUN_TIME);

	if (fd < 0) {
		fprintf(stderr, "bpf_stats: BPF_ENABLE_STATS failed: %d\n", fd);
		return 1;
	}
	printf("ready\n");
	fflush(stdout);
	while (read(0, buf, sizeof(buf)) > 0)
		;
	close(fd);
	return 0;
}
