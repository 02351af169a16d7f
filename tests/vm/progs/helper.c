// SPDX-License-Identifier: GPL-2.0
// Test program run inside the vmtest guest: one small, well-known binary
// (/bin/vmtest-helper) whose actions the guest tests watch.
//   vmtest-helper open PATH       open PATH read-only, read a little, close
//   vmtest-helper connect PORT    TCP connect to 127.0.0.1:PORT
//   vmtest-helper exit CODE       exit with CODE
//   vmtest-helper sleep MS        sleep MS milliseconds
//   vmtest-helper stat PATH       stat PATH
//   vmtest-helper userns          enter a new user namespace (commits new creds)
//   vmtest-helper bpf             create an array map and load a socket filter, both named "vmtest"
//   vmtest-helper unlink PATH     unlink PATH
//   vmtest-helper write PATH TEXT create PATH and write TEXT with write(2)
//   vmtest-helper writev PATH A B create PATH and write A then B with one writev(2)
//   vmtest-helper module PATH NAME  load the module file PATH (finit_module), then unload NAME
//   vmtest-helper perf TYPE FUNC  open and close a kretprobe perf event on FUNC (PMU TYPE)
// Exit status: 0 when the action worked, 1 when it failed (errno printed).
#define _GNU_SOURCE /* unshare */
#include <arpa/inet.h>
#include <linux/bpf.h>
#include <linux/perf_event.h>
#include <sys/uio.h>
#include <sys/syscall.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static int failure(const char *what)
{
	printf("%s: errno %d (%s)\n", what, errno, strerror(errno));
	return 1;
}

static int do_open(const char *path)
{
	char buf[64];
	int fd = open(path, O_RDONLY);

	if (fd < 0)
		return failure("open");
	if (read(fd, buf, sizeof(buf)) < 0)
		return failure("read");
	close(fd);
	return 0;
}

static int do_connect(const char *port)
{
	struct sockaddr_in addr = { .sin_family = AF_INET };
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	addr.sin_port = htons((unsigned short)atoi(port));
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0)
		return failure("connect");
	close(fd);
	return 0;
}

static int do_sleep(const char *ms)
{
	long n = atol(ms);
	struct timespec ts = { .tv_sec = n / 1000, .tv_nsec = (n % 1000) * 1000000L };

	return nanosleep(&ts, NULL) == 0 ? 0 : failure("nanosleep");
}

static int do_stat(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? 0 : failure("stat");
}

static int do_userns(void)
{
	return unshare(CLONE_NEWUSER) == 0 ? 0 : failure("unshare");
}

static long sys_bpf(int cmd, union bpf_attr *attr)
{
	return syscall(SYS_bpf, cmd, attr, sizeof(*attr));
}

static int do_bpf(void)
{
	struct bpf_insn prog[2] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	union bpf_attr map = { .map_type = BPF_MAP_TYPE_ARRAY, .key_size = 4, .value_size = 8, .max_entries = 1 };
	union bpf_attr load = {
		.prog_type = BPF_PROG_TYPE_SOCKET_FILTER, .insn_cnt = 2, .insns = (unsigned long)prog,
		.license = (unsigned long)"GPL",
	};
	long fd;

	strcpy(map.map_name, "vmtest");
	strcpy(load.prog_name, "vmtest");
	fd = sys_bpf(BPF_MAP_CREATE, &map);
	if (fd < 0)
		return failure("bpf map create");
	close(fd);
	fd = sys_bpf(BPF_PROG_LOAD, &load);
	if (fd < 0)
		return failure("bpf prog load");
	close(fd);
	return 0;
}

static int do_unlink(const char *path)
{
	return unlink(path) == 0 ? 0 : failure("unlink");
}

static int do_write(const char *path, const struct iovec *iov, int n)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	long done;

	if (fd < 0)
		return failure("open");
	done = n == 1 ? write(fd, iov[0].iov_base, iov[0].iov_len) : writev(fd, iov, n);
	if (done < 0)
		return failure("write");
	close(fd);
	return 0;
}

static int do_module(const char *path, const char *name)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return failure("open");
	if (syscall(SYS_finit_module, fd, "", 0) != 0)
		return failure("finit_module");
	close(fd);
	if (syscall(SYS_delete_module, name, O_NONBLOCK) != 0)
		return failure("delete_module");
	return 0;
}

/* A kretprobe through the kprobe PMU: attr.config bit 0 is "retprobe". */
static int do_perf(const char *type, const char *func)
{
	struct perf_event_attr attr = { .size = sizeof(attr), .type = (unsigned)atoi(type), .config = 1 };
	long fd;

	attr.kprobe_func = (unsigned long)func;
	attr.probe_offset = 0;
	fd = syscall(SYS_perf_event_open, &attr, -1, 0, -1, 0);
	if (fd < 0)
		return failure("perf_event_open");
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "open") == 0)
		return do_open(argv[2]);
	if (argc == 3 && strcmp(argv[1], "connect") == 0)
		return do_connect(argv[2]);
	if (argc == 3 && strcmp(argv[1], "exit") == 0)
		return atoi(argv[2]);
	if (argc == 3 && strcmp(argv[1], "sleep") == 0)
		return do_sleep(argv[2]);
	if (argc == 3 && strcmp(argv[1], "stat") == 0)
		return do_stat(argv[2]);
	if (argc == 2 && strcmp(argv[1], "userns") == 0)
		return do_userns();
	if (argc == 2 && strcmp(argv[1], "bpf") == 0)
		return do_bpf();
	if (argc == 3 && strcmp(argv[1], "unlink") == 0)
		return do_unlink(argv[2]);
	if (argc == 4 && strcmp(argv[1], "write") == 0) {
		struct iovec one = { argv[3], strlen(argv[3]) };

		return do_write(argv[2], &one, 1);
	}
	if (argc == 5 && strcmp(argv[1], "writev") == 0) {
		struct iovec two[2] = { { argv[3], strlen(argv[3]) }, { argv[4], strlen(argv[4]) } };

		return do_write(argv[2], two, 2);
	}
	if (argc == 4 && strcmp(argv[1], "module") == 0)
		return do_module(argv[2], argv[3]);
	if (argc == 4 && strcmp(argv[1], "perf") == 0)
		return do_perf(argv[2], argv[3]);
	fprintf(stderr, "usage: vmtest-helper open PATH|connect PORT|exit CODE|sleep MS|stat PATH|userns|bpf|"
		"unlink PATH|write PATH TEXT|writev PATH A B|module PATH NAME|perf TYPE FUNC\n");
	return 2;
}
