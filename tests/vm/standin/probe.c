// SPDX-License-Identifier: GPL-2.0
// Stand-in guest payload: proves the VM pipeline (kernel, initramfs, libbpf,
// result protocol) before the agent exists. Prints the driver's protocol:
//   VMTEST <name> PASS|FAIL <ms> <reason>
//   VMTEST-END <n> passed, <n> failed
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <bpf/libbpf.h>
#include "probe.skel.h"

static char libbpf_log[64 * 1024];
static size_t libbpf_log_len;
static int passed, failed;
static regex_t filter;
static int have_filter;

static int capture_log(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	size_t room = sizeof(libbpf_log) - libbpf_log_len;
	int n;

	if (level == LIBBPF_DEBUG || room <= 1)
		return 0;
	n = vsnprintf(libbpf_log + libbpf_log_len, room, fmt, ap);
	if (n > 0)
		libbpf_log_len += (size_t)n < room ? (size_t)n : room - 1;
	return 0;
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void dump_log(void)
{
	char *line, *save = NULL;

	for (line = strtok_r(libbpf_log, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		printf("VMTEST-LOG %s\n", line);
	libbpf_log_len = 0;
	libbpf_log[0] = 0;
}

static void report(const char *name, double start, const char *failure)
{
	int ms = (int)(now_ms() - start);

	if (failure) {
		failed++;
		printf("VMTEST %s FAIL %d %s\n", name, ms, failure);
		dump_log();
	} else {
		passed++;
		printf("VMTEST %s PASS %d\n", name, ms);
	}
	fflush(stdout);
}

static int selected(const char *name)
{
	return !have_filter || regexec(&filter, name, 0, NULL, 0) == 0;
}

static void open_some_file(void)
{
	char buf[16];
	int fd = open("/proc/version", O_RDONLY);

	if (fd >= 0) {
		if (read(fd, buf, sizeof(buf)) < 0)
			perror("read");
		close(fd);
	}
}

static int connect_loopback(void)
{
	struct sockaddr_in addr = { .sin_family = AF_INET };
	socklen_t len = sizeof(addr);
	int srv = socket(AF_INET, SOCK_STREAM, 0);
	int cli = socket(AF_INET, SOCK_STREAM, 0);
	int rc = -1;

	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (srv >= 0 && cli >= 0 && bind(srv, (struct sockaddr *)&addr, sizeof(addr)) == 0 &&
	    listen(srv, 1) == 0 && getsockname(srv, (struct sockaddr *)&addr, &len) == 0)
		rc = connect(cli, (struct sockaddr *)&addr, sizeof(addr));
	if (rc != 0)
		perror("connect");
	close(cli);
	close(srv);
	return rc;
}

static const char *attach_one(struct bpf_program *prog, struct bpf_link **link)
{
	*link = bpf_program__attach(prog);
	return *link ? NULL : "attach failed (see log)";
}

typedef const char *(*trigger_fn)(struct probe_bpf *skel);

static const char *trigger_open(struct probe_bpf *skel)
{
	(void)skel;
	open_some_file();
	return NULL;
}

static const char *trigger_connect(struct probe_bpf *skel)
{
	(void)skel;
	return connect_loopback() == 0 ? NULL : "loopback connect failed";
}

static const char *trigger_denied_open(struct probe_bpf *skel)
{
	int fd;

	skel->bss->deny_open = 1;
	fd = open("/proc/version", O_RDONLY);
	skel->bss->deny_open = 0;
	if (fd >= 0) {
		close(fd);
		return "open succeeded; expected EPERM from fmod_ret";
	}
	return errno == EPERM ? NULL : "open failed, but not with EPERM";
}

static void run_case(const char *name, struct bpf_program *prog, trigger_fn trigger,
		     volatile __u64 *hits, struct probe_bpf *skel)
{
	struct bpf_link *link = NULL;
	const char *failure;
	double start;

	if (!selected(name))
		return;
	start = now_ms();
	failure = attach_one(prog, &link);
	if (!failure)
		failure = trigger(skel);
	if (!failure && hits && *hits == 0)
		failure = "hook attached but never hit";
	bpf_link__destroy(link);
	report(name, start, failure);
}

static void run_all(struct probe_bpf *skel)
{
	struct probe_bpf__bss *bss = skel->bss;

	run_case("standin-kprobe", skel->progs.on_openat2, trigger_open, &bss->kprobe_hits, skel);
	run_case("standin-kretprobe", skel->progs.on_openat2_ret, trigger_open, &bss->kretprobe_hits, skel);
	run_case("standin-fentry", skel->progs.on_fd_install, trigger_open, &bss->fentry_hits, skel);
	run_case("standin-fexit", skel->progs.on_file_permission_exit, trigger_open, &bss->fexit_hits, skel);
	run_case("standin-tcp-connect", skel->progs.on_tcp_connect, trigger_connect, &bss->connect_hits, skel);
	run_case("standin-override", skel->progs.deny_file_open, trigger_denied_open, NULL, skel);
}

int main(int argc, char **argv)
{
	struct probe_bpf *skel;
	double start = now_ms();

	if (argc > 1 && argv[1][0]) {
		if (regcomp(&filter, argv[1], REG_EXTENDED | REG_NOSUB) != 0) {
			fprintf(stderr, "bad test filter: %s\n", argv[1]);
			return 2;
		}
		have_filter = 1;
	}
	libbpf_set_print(capture_log);
	skel = probe_bpf__open();
	if (skel) {
		skel->rodata->target_tgid = (__u32)getpid();
		if (probe_bpf__load(skel) != 0) {
			probe_bpf__destroy(skel);
			skel = NULL;
		}
	}
	if (!skel)
		report("standin-load", start, "open/load failed (see log)");
	else
		run_all(skel);
	probe_bpf__destroy(skel);
	printf("VMTEST-END %d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
