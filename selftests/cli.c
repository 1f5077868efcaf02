// SPDX-License-Identifier: GPL-2.0
/*
 * The ksalloc command (tools/ksalloc.c) against the real module: its exit
 * codes (0 ok, 1 runtime failure, 2 usage), what status, create, alloc,
 * free and stress print, and what they leave behind (nothing).
 *
 * This program is the tool as well, compiled from the same source: like
 * a multi-call binary it runs the tool's main() when started under the
 * name "ksalloc", and a small probe (what a command run by
 * "ksalloc create -- CMD" sees) under the name "ksalloc-probe". The tests
 * start it through symlinks of those names, so every run is a real
 * fork + exec of the tool, with its own argv, fds, environment and exit
 * status, exactly as from a shell.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include "../lib/ksalloc.c"
#define main ksalloc_tool_main
#include "../tools/ksalloc.c"
#undef main
#include "ksa_test.h"
#include "kselftest_harness.h"

#define OUT_MAX			65536

/*
 * The probe: print what the allocator fd named by $KSALLOC_FD looks like
 * from the command's side, then exit with argv[1] (default 0).
 */
static int probe_main(int argc, char **argv)
{
	struct ksalloc_allocator_info info;
	const char *env = getenv("KSALLOC_FD");
	char path[64], link[256];
	ssize_t n;
	int fd, ret;

	if (!env) {
		printf("probe: no KSALLOC_FD\n");
		return 99;
	}
	fd = atoi(env);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	n = readlink(path, link, sizeof(link) - 1);
	link[n < 0 ? 0 : n] = 0;
	ret = ksa_allocator_info(fd, &info);
	printf("probe: fd=%d link=%s cloexec=%d nonblock=%d info=%d frames=%u frame_size=%u\n",
	       fd, link, !!(fcntl(fd, F_GETFD) & FD_CLOEXEC),
	       !!(fcntl(fd, F_GETFL) & O_NONBLOCK), ret, info.frames,
	       info.frame_size);
	return argc > 1 ? atoi(argv[1]) : 0;
}

/* Before the harness: run as the tool or the probe when so named. */
__attribute__((constructor))
static void multi_call(int argc, char **argv)
{
	const char *name;

	if (argc < 1 || !argv || !argv[0])
		return;
	name = strrchr(argv[0], '/');
	name = name ? name + 1 : argv[0];
	if (!strcmp(name, "ksalloc"))
		exit(ksalloc_tool_main(argc, argv));
	if (!strcmp(name, "ksalloc-probe"))
		exit(probe_main(argc, argv));
}

struct run {
	int status;		/* exit status, or 128 + signal */
	char out[OUT_MAX];
	char err[OUT_MAX];
};

/* Read both pipes to EOF (either may fill up first). */
static void drain(int ofd, int efd, struct run *r)
{
	struct pollfd p[2] = { { .fd = ofd, .events = POLLIN },
			       { .fd = efd, .events = POLLIN } };
	size_t olen = 0, elen = 0;
	ssize_t n;

	while (p[0].fd >= 0 || p[1].fd >= 0) {
		if (poll(p, 2, -1) < 0 && errno != EINTR)
			break;
		if (p[0].revents) {
			n = read(ofd, r->out + olen, OUT_MAX - 1 - olen);
			if (n <= 0)
				p[0].fd = -1;
			else
				olen += n;
		}
		if (p[1].revents) {
			n = read(efd, r->err + elen, OUT_MAX - 1 - elen);
			if (n <= 0)
				p[1].fd = -1;
			else
				elen += n;
		}
	}
	r->out[olen] = 0;
	r->err[elen] = 0;
}

/* Start @path with @argv, stdout/stderr into pipes; the pid or -1 */
static pid_t spawn(const char *path, char *const argv[], int *ofd, int *efd)
{
	int o[2], e[2];
	pid_t pid;

	if (pipe2(o, O_CLOEXEC))
		return -1;
	if (pipe2(e, O_CLOEXEC)) {
		close(o[0]);
		close(o[1]);
		return -1;
	}
	pid = fork();
	if (pid == 0) {
		dup2(o[1], 1);
		dup2(e[1], 2);
		execv(path, argv);
		_exit(120);
	}
	close(o[1]);
	close(e[1]);
	if (pid < 0) {
		close(o[0]);
		close(e[0]);
		return -1;
	}
	*ofd = o[0];
	*efd = e[0];
	return pid;
}

static int wait_status(pid_t pid)
{
	int status;

	if (waitpid(pid, &status, 0) != pid)
		return -1;
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}

FIXTURE(cli) {
	char dir[64];
	char tool[128];
	char probe[128];
	struct run *r;
	long long before;
};

FIXTURE_SETUP(cli)
{
	char self_path[256];
	ssize_t n;

	self->r = calloc(1, sizeof(*self->r));
	ASSERT_NE(NULL, self->r);
	n = readlink("/proc/self/exe", self_path, sizeof(self_path) - 1);
	ASSERT_LT(0, n);
	self_path[n] = 0;
	strcpy(self->dir, "/tmp/ksalloc-cli.XXXXXX");
	ASSERT_NE(NULL, mkdtemp(self->dir));
	snprintf(self->tool, sizeof(self->tool), "%s/ksalloc", self->dir);
	snprintf(self->probe, sizeof(self->probe), "%s/ksalloc-probe", self->dir);
	ASSERT_EQ(0, symlink(self_path, self->tool));
	ASSERT_EQ(0, symlink(self_path, self->probe));
	self->before = kst_sysfs_allocators();
	ASSERT_LE(0, self->before) {
		TH_LOG("no %s: is the module loaded?", KST_SYS_ALLOCATORS);
	}
}

FIXTURE_TEARDOWN(cli)
{
	unlink(self->tool);
	unlink(self->probe);
	rmdir(self->dir);
	free(self->r);
}

/* Run the tool with the arguments after the fixture; its exit status. */
static int tool(FIXTURE_DATA(cli) *self, ...)
{
	char *argv[32];
	va_list ap;
	int n = 0, ofd, efd;
	pid_t pid;

	argv[n++] = "ksalloc";
	va_start(ap, self);
	while (n < 31 && (argv[n] = va_arg(ap, char *)))
		n++;
	va_end(ap);
	argv[n] = NULL;
	memset(self->r, 0, sizeof(*self->r));
	pid = spawn(self->tool, argv, &ofd, &efd);
	if (pid < 0)
		return -1;
	drain(ofd, efd, self->r);
	close(ofd);
	close(efd);
	self->r->status = wait_status(pid);
	return self->r->status;
}

#define OUT (self->r->out)
#define ERR (self->r->err)

/* Exit status 2 and a hint for every kind of usage error */
TEST_F(cli, usage_errors)
{
	static const char *const cmds[] = {
		"status", "create", "alloc", "free", "stress", "help"
	};
	char want[64];
	unsigned int i;

	EXPECT_EQ(2, tool(self, NULL));
	EXPECT_NE(NULL, strstr(ERR, "Usage: ksalloc"));
	EXPECT_EQ(2, tool(self, "frobnicate", NULL));
	EXPECT_NE(NULL, strstr(ERR, "unknown command 'frobnicate'"));
	EXPECT_EQ(2, tool(self, "--frobnicate", NULL));
	EXPECT_EQ(2, tool(self, "status", "extra", NULL));
	EXPECT_EQ(2, tool(self, "status", "--bogus", NULL));
	EXPECT_NE(NULL, strstr(ERR, "Try 'ksalloc status --help'"));
	EXPECT_EQ(2, tool(self, "create", NULL));
	EXPECT_NE(NULL, strstr(ERR, "--frames and --frame-size are required"));
	EXPECT_EQ(2, tool(self, "create", "--frames", NULL));
	EXPECT_NE(NULL, strstr(ERR, "needs a value"));
	EXPECT_EQ(2, tool(self, "create", "--frames", "x", "--frame-size", "1", NULL));
	EXPECT_EQ(2, tool(self, "create", "--frames", "0", "--frame-size", "1", NULL));
	EXPECT_EQ(2, tool(self, "create", "--frames", "1", "--frame-size", "4k",
			  "--alignment", "3", NULL));
	EXPECT_NE(NULL, strstr(ERR, "power of two"));
	EXPECT_EQ(2, tool(self, "create", "--frames", "1", "--frame-size", "4k",
			  "true", NULL));
	EXPECT_NE(NULL, strstr(ERR, "a command goes after --"));
	EXPECT_EQ(2, tool(self, "create", "--frames", "1", "--frame-size", "4k",
			  "--hold", "1", "--", "true", NULL));
	EXPECT_EQ(2, tool(self, "create", "--frames", "1", "--frame-size", "4k",
			  "--fd", "9", NULL));
	EXPECT_EQ(2, tool(self, "create", "--frames", "1", "--frame-size", "4k",
			  "--pool", "puddle", NULL));
	EXPECT_EQ(2, tool(self, "alloc", "--frames", "2", "--count", "3", NULL));
	EXPECT_EQ(2, tool(self, "stress", "--threads", "0", NULL));
	EXPECT_EQ(2, tool(self, "stress", "--seconds", "-1", NULL));
	EXPECT_EQ(2, tool(self, "stress", "--frames", "2", "--batch", "3", NULL));
	EXPECT_EQ(2, tool(self, "help", "nope", NULL));
	/* nothing was created by any of them */
	EXPECT_EQ(self->before, kst_sysfs_allocators());

	/* help is not an error */
	EXPECT_EQ(0, tool(self, "--help", NULL));
	EXPECT_NE(NULL, strstr(OUT, "Usage: ksalloc"));
	EXPECT_EQ(0, tool(self, "help", NULL));
	EXPECT_NE(NULL, strstr(OUT, "stress"));
	EXPECT_EQ(0, tool(self, "--version", NULL));
	EXPECT_EQ(0, strncmp(OUT, "ksalloc ", 8));
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		snprintf(want, sizeof(want), "Usage: ksalloc %s", cmds[i]);
		EXPECT_EQ(0, tool(self, cmds[i], "--help", NULL));
		EXPECT_EQ(0, strncmp(OUT, want, strlen(want)));
		EXPECT_EQ(0, tool(self, "help", cmds[i], NULL));
		EXPECT_EQ(0, strncmp(OUT, want, strlen(want)));
	}
}

/* A row of the status table: the columns the tool prints */
struct row {
	unsigned long long id;
	long pid;
	char comm[32];
	long frames, frame_size, stride, used, high, wait, events, bytes;
	char state[16];
};

/* Find allocator @id in the tool's status output; 0 if it is there. */
static int find_row(const char *out, unsigned long long id, struct row *r)
{
	const char *line = out;

	while (line && *line) {
		memset(r, 0, sizeof(*r));
		if (sscanf(line, "%llu %ld %31s %ld %ld %ld %ld %ld %ld %ld %ld %15s",
			   &r->id, &r->pid, r->comm, &r->frames, &r->frame_size,
			   &r->stride, &r->used, &r->high, &r->wait, &r->events,
			   &r->bytes, r->state) == 12 && r->id == id)
			return 0;
		line = strchr(line, '\n');
		if (line)
			line++;
	}
	return -1;
}

/* status: the totals agree with sysfs, our allocator has its row */
TEST_F(cli, status_shows_allocator)
{
	struct ksallocator_framing f = {
		.pool_type = KS_POOL_NONPAGED, .frames = 5, .frame_size = 12345,
	};
	struct ksa_allocator *a;
	struct ksa_event *ev;
	void *p[2];
	char want[64];
	struct row row;
	int pin;

	pin = ksa_open_pin();
	ASSERT_LE(0, pin);
	ASSERT_EQ(0, ksa_allocator_create(pin, &f, 0, &a));
	ASSERT_EQ(2, ksa_frame_alloc_batch(a, p, 2, 0));
	ASSERT_EQ(0, ksa_freeframe_enable(ksa_allocator_fd(a), 0, &ev));

	ASSERT_EQ(0, tool(self, "status", NULL)) {
		TH_LOG("stderr: %s", ERR);
	}
	snprintf(want, sizeof(want), "allocators:  %lld\n",
		 kst_sysfs_allocators());
	EXPECT_NE(NULL, strstr(OUT, want)) {
		TH_LOG("no '%s' in:\n%s", want, OUT);
	}
	EXPECT_NE(NULL, strstr(OUT, "total bytes: "));
	ASSERT_EQ(0, find_row(OUT, ksa_allocator_id(a), &row)) {
		TH_LOG("allocator %llu missing from:\n%s",
		       (unsigned long long)ksa_allocator_id(a), OUT);
	}
	EXPECT_EQ(getpid(), row.pid);
	EXPECT_EQ(5, row.frames);
	EXPECT_EQ(12345, row.frame_size);
	EXPECT_EQ(16384, row.stride);
	EXPECT_EQ(2, row.used);
	EXPECT_EQ(2, row.high);
	EXPECT_EQ(0, row.wait);
	EXPECT_EQ(1, row.events);
	EXPECT_EQ(5 * 16384, row.bytes);
	EXPECT_STREQ("ok", row.state);

	/* KSRESET shows */
	ASSERT_EQ(0, ksa_reset_state(ksa_allocator_fd(a), KSRESET_BEGIN));
	ASSERT_EQ(0, tool(self, "status", "--verbose", NULL));
	ASSERT_EQ(0, find_row(OUT, ksa_allocator_id(a), &row));
	EXPECT_STREQ("resetting", row.state);
	EXPECT_NE(NULL, strstr(OUT, "# total_bytes"));
	ASSERT_EQ(0, ksa_reset_state(ksa_allocator_fd(a), KSRESET_END));

	EXPECT_EQ(0, ksa_event_disable(ev));
	EXPECT_EQ(0, ksa_frame_free_batch(a, p, 2));
	ksa_allocator_close(a);
	close(pin);
	ASSERT_EQ(0, tool(self, "status", NULL));
	EXPECT_EQ(-1, find_row(OUT, ksa_allocator_id(a), &row));
}

/* status without debugfs: still the totals, and a clear note, exit 0 */
TEST_F(cli, status_without_debugfs)
{
	struct stat st;

	/* A private mount namespace: the rest of the VM keeps debugfs */
	ASSERT_EQ(0, unshare(CLONE_NEWNS));
	ASSERT_EQ(0, mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL));
	ASSERT_EQ(0, umount2("/sys/kernel/debug", MNT_DETACH)) {
		TH_LOG("umount /sys/kernel/debug: %s", strerror(errno));
	}
	ASSERT_NE(0, stat("/sys/kernel/debug/ksalloc", &st));

	EXPECT_EQ(0, tool(self, "status", NULL));
	EXPECT_NE(NULL, strstr(OUT, "allocators:"));
	EXPECT_NE(NULL, strstr(ERR, "debugfs is not mounted")) {
		TH_LOG("stderr: %s", ERR);
	}
	EXPECT_EQ(NULL, strstr(OUT, "FRAME_SIZE"));
}

/* create -- CMD: CMD runs with the allocator open, its status is ours */
TEST_F(cli, create_runs_command)
{
	char want[128];

	EXPECT_EQ(0, tool(self, "create", "--frames", "4", "--frame-size", "4096",
			  "--", self->probe, NULL)) {
		TH_LOG("stdout: %s stderr: %s", OUT, ERR);
	}
	EXPECT_NE(NULL, strstr(OUT, "link=anon_inode:[ksalloc-allocator] "
				    "cloexec=0 nonblock=0 info=0 frames=4 "
				    "frame_size=4096")) {
		TH_LOG("probe said: %s", OUT);
	}
	EXPECT_EQ(self->before, kst_sysfs_allocators());

	/* the command's exit status, O_NONBLOCK, a chosen fd, size suffixes */
	EXPECT_EQ(7, tool(self, "create", "-n", "2", "-s", "8k", "--nonblock",
			  "--fd", "9", "--", self->probe, "7", NULL));
	snprintf(want, sizeof(want), "probe: fd=9 link=anon_inode:[ksalloc-allocator] "
		 "cloexec=0 nonblock=1 info=0 frames=2 frame_size=8192");
	EXPECT_NE(NULL, strstr(OUT, want)) {
		TH_LOG("probe said: %s", OUT);
	}

	/* --verbose describes it first */
	EXPECT_EQ(0, tool(self, "create", "-n", "1", "-s", "100", "--verbose",
			  "--", self->probe, NULL));
	EXPECT_NE(NULL, strstr(OUT, "1 frames of 100 bytes"));

	/* a command that cannot run: 127, like a shell */
	EXPECT_EQ(127, tool(self, "create", "-n", "1", "-s", "100", "--",
			    "/nonexistent/command", NULL));
	EXPECT_NE(NULL, strstr(ERR, "cannot run"));
	EXPECT_EQ(self->before, kst_sysfs_allocators());
}

/* create alone checks a framing; the kernel's refusals are exit status 1 */
TEST_F(cli, create_framing)
{
	EXPECT_EQ(0, tool(self, "create", "--frames", "3", "--frame-size", "5000",
			  "--alignment", "64", "--pool", "paged", NULL)) {
		TH_LOG("stderr: %s", ERR);
	}
	EXPECT_NE(NULL, strstr(OUT, "3 frames of 5000 bytes (stride 8192)"));
	EXPECT_EQ(self->before, kst_sysfs_allocators());

	/* more frames than max_frames */
	EXPECT_EQ(1, tool(self, "create", "--frames", "1000000", "--frame-size",
			  "1", NULL));
	EXPECT_NE(NULL, strstr(ERR, "STATUS_INSUFFICIENT_RESOURCES")) {
		TH_LOG("stderr: %s", ERR);
	}
	EXPECT_NE(NULL, strstr(ERR, "ENOMEM"));
	/* frame_size rounded up to pages overflows 32 bits */
	EXPECT_EQ(1, tool(self, "create", "--frames", "1", "--frame-size",
			  "4294967295", NULL));
	EXPECT_NE(NULL, strstr(ERR, "STATUS_BUFFER_OVERFLOW"));
	/* not a pool type */
	EXPECT_EQ(1, tool(self, "create", "--frames", "1", "--frame-size", "1",
			  "--pool", "3", NULL));
	EXPECT_NE(NULL, strstr(ERR, "STATUS_INVALID_PARAMETER"));
	/* alignment above a page */
	EXPECT_EQ(1, tool(self, "create", "--frames", "1", "--frame-size", "1",
			  "--alignment", "1M", NULL));
	EXPECT_EQ(self->before, kst_sysfs_allocators());
}

/* --hold keeps the allocator until the time is up or a signal ends it */
TEST_F(cli, create_hold)
{
	char *argv[] = { "ksalloc", "create", "--frames", "2", "--frame-size",
			 "4096", "--hold", "600", NULL };
	char line[256] = "";
	size_t len = 0;
	int ofd, efd, status;
	ssize_t n;
	pid_t pid;

	pid = spawn(self->tool, argv, &ofd, &efd);
	ASSERT_LT(0, pid);
	/* Its second line comes when the allocator exists */
	while (len < sizeof(line) - 1 && !strstr(line, "holding it")) {
		n = read(ofd, line + len, sizeof(line) - 1 - len);
		if (n <= 0)
			break;
		len += n;
		line[len] = 0;
	}
	EXPECT_NE(NULL, strstr(line, "holding it for 600 s")) {
		TH_LOG("it said: %s", line);
	}
	EXPECT_EQ(self->before + 1, kst_sysfs_allocators());
	EXPECT_EQ(0, kill(pid, SIGTERM));
	status = wait_status(pid);
	close(ofd);
	close(efd);
	EXPECT_EQ(0, status);
	EXPECT_EQ(self->before, kst_sysfs_allocators());

	/* a short hold ends by itself */
	EXPECT_EQ(0, tool(self, "create", "-n", "1", "-s", "1", "--hold", "0.1",
			  NULL));
	EXPECT_EQ(self->before, kst_sysfs_allocators());
}

/* The alloc and free demos pass, and say what they showed */
TEST_F(cli, demos)
{
	EXPECT_EQ(0, tool(self, "alloc", "--frames", "3", NULL)) {
		TH_LOG("stdout: %s stderr: %s", OUT, ERR);
	}
	EXPECT_NE(NULL, strstr(OUT, "frame 2 at offset 8192"));
	EXPECT_NE(NULL, strstr(OUT, "allocated frames (KSPROPERTY_STREAMALLOCATOR_STATUS): 3"));
	EXPECT_NE(NULL, strstr(OUT, "STATUS_PENDING"));
	EXPECT_NE(NULL, strstr(OUT, "freed 3 frames; allocated now: 0"));

	EXPECT_EQ(0, tool(self, "alloc", "--frames", "4", "--count", "2",
			  "--frame-size", "10000", NULL));
	EXPECT_NE(NULL, strstr(OUT, "frame 1 at offset 12288"));
	EXPECT_EQ(NULL, strstr(OUT, "STATUS_PENDING"));

	EXPECT_EQ(0, tool(self, "free", "--frames", "3", NULL)) {
		TH_LOG("stdout: %s stderr: %s", OUT, ERR);
	}
	EXPECT_NE(NULL, strstr(OUT, "FREEFRAME signalled 3 times"));
	EXPECT_NE(NULL, strstr(OUT, "STATUS_INVALID_PARAMETER"));
	EXPECT_EQ(self->before, kst_sysfs_allocators());

	/* a demo the kernel refuses */
	EXPECT_EQ(1, tool(self, "alloc", "--frames", "100000", NULL));
	EXPECT_NE(NULL, strstr(ERR, "STATUS_INSUFFICIENT_RESOURCES"));
}

/* stress: more threads than frames, so ALLOC sleeps; all frames return */
TEST_F(cli, stress)
{
	unsigned long long ops = 0;
	const char *p;

	EXPECT_EQ(0, tool(self, "stress", "--threads", "4", "--allocators", "2",
			  "--frames", "1", "--seconds", "0.5", NULL)) {
		TH_LOG("stdout: %s stderr: %s", OUT, ERR);
	}
	EXPECT_NE(NULL, strstr(OUT, "stress: 4 threads on 2 allocators of 1 frames"));
	p = strstr(OUT, "frames allocated and freed: ");
	ASSERT_NE(NULL, p);
	EXPECT_EQ(1, sscanf(p, "frames allocated and freed: %llu", &ops));
	EXPECT_LT(0, ops);
	EXPECT_NE(NULL, strstr(OUT, " ops/s\n"));
	EXPECT_NE(NULL, strstr(OUT, "latency of one alloc + free round trip:\n  ["));
	EXPECT_EQ(self->before, kst_sysfs_allocators());

	EXPECT_EQ(0, tool(self, "stress", "-t", "2", "-n", "8", "-b", "4",
			  "-S", "0.3", NULL)) {
		TH_LOG("stdout: %s stderr: %s", OUT, ERR);
	}
	EXPECT_NE(NULL, strstr(OUT, "batch 4"));
	EXPECT_EQ(self->before, kst_sysfs_allocators());

	/* allocators it cannot have: a runtime failure, nothing left over */
	EXPECT_EQ(1, tool(self, "stress", "--frames", "100000", "-S", "0.1", NULL));
	EXPECT_NE(NULL, strstr(ERR, "STATUS_INSUFFICIENT_RESOURCES"));
	EXPECT_EQ(self->before, kst_sysfs_allocators());
}

TEST_HARNESS_MAIN
