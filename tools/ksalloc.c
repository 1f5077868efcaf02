// SPDX-License-Identifier: GPL-2.0
/*
 * ksalloc: look at and exercise the ksalloc module from the shell.
 *
 *   ksalloc status                     allocators and totals
 *   ksalloc create ... [-- CMD...]     an allocator, for CMD or a while
 *   ksalloc alloc | free               demos on a fresh allocator
 *   ksalloc stress ...                 threads hammering allocators
 *
 * Exit status: 0 success, 1 a runtime failure, 2 a usage error; with
 * "create -- CMD" the status of CMD (126/127 if it cannot be run).
 * See ksalloc(1).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/vfs.h>

/* the library of this tree (the build also links its archive) */
#include "../lib/libksalloc.h"

#ifndef KSA_VERSION
#define KSA_VERSION "unknown"
#endif

#define EXIT_USAGE		2

#define SYSFS_DIR		"/sys/class/misc/ksalloc"
#define PARAM_DIR		"/sys/module/ksalloc/parameters"
#define DEBUGFS_DIR		"/sys/kernel/debug"
#define DEBUGFS_STATUS		DEBUGFS_DIR "/ksalloc/allocators"
#define DEBUGFS_MAGIC		0x64626720
#define STATUS_COLUMNS		12

static const char *prog = "ksalloc";

static void msg(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* "STATUS_...: text [EXXX]" for a negative errno */
static const char *errtext(int err)
{
	static __thread char buf[256];
	const char *name = strerrorname_np(err < 0 ? -err : err);

	snprintf(buf, sizeof(buf), "%s [%s]", ksa_strerror(err),
		 name ? name : "?");
	return buf;
}

/* ------------------------------------------------------------------ */
/* usage                                                              */

struct command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *synopsis;
	const char *help;
};

static const struct command *find_command(const char *name);

static const char main_usage[] =
	"Usage: ksalloc [--help] [--version] COMMAND [ARGS...]\n"
	"\n"
	"Commands:\n"
	"  status   the module's allocators and totals\n"
	"  create   create an allocator, for a command or for a while\n"
	"  alloc    demo: allocate frames of a fresh allocator\n"
	"  free     demo: free frames and count FREEFRAME events\n"
	"  stress   threads allocating and freeing, with a latency histogram\n"
	"  help     help on a command\n"
	"\n"
	"'ksalloc COMMAND --help' describes a command. Exit status: 0 success,\n"
	"1 failure, 2 usage error.\n";

static void command_help(const struct command *c, FILE *f)
{
	fprintf(f, "Usage: ksalloc %s %s\n\n%s", c->name, c->synopsis, c->help);
}

static int usage_error(const struct command *c, const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fprintf(stderr, "%s%s%s: ", prog, c ? " " : "", c ? c->name : "");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry 'ksalloc %s%s--help'.\n", c ? c->name : "",
		c ? " " : "");
	return EXIT_USAGE;
}

/* ------------------------------------------------------------------ */
/* argument parsing                                                   */

/* An unsigned number with an optional k/K, m/M or g/G (binary) suffix */
static int parse_size(const char *s, uint64_t max, uint64_t *out)
{
	unsigned long long v;
	char *end;
	int shift = 0;

	if (!s || !*s || *s == '-')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s)
		return -1;
	switch (*end) {
	case 'k': case 'K':
		shift = 10;
		end++;
		break;
	case 'm': case 'M':
		shift = 20;
		end++;
		break;
	case 'g': case 'G':
		shift = 30;
		end++;
		break;
	}
	if (*end || v > (max >> shift))
		return -1;
	*out = v << shift;
	return 0;
}

static int parse_u32(const char *s, uint32_t min, uint32_t max, uint32_t *out)
{
	uint64_t v;

	if (parse_size(s, max, &v) || v < min)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

static int parse_seconds(const char *s, double max, double *out)
{
	char *end;
	double v;

	if (!s || !*s)
		return -1;
	errno = 0;
	v = strtod(s, &end);
	if (errno || *end || !(v >= 0) || v > max)
		return -1;
	*out = v;
	return 0;
}

static const struct {
	const char *name;
	uint32_t value;
} pool_types[] = {
	{ "nonpaged", KS_POOL_NONPAGED },
	{ "paged", KS_POOL_PAGED },
	{ "nonpaged-cache-aligned", KS_POOL_NONPAGED_CACHE_ALIGNED },
	{ "paged-cache-aligned", KS_POOL_PAGED_CACHE_ALIGNED },
	{ "nonpaged-nx", KS_POOL_NONPAGED_NX },
};

static int parse_pool(const char *s, uint32_t *out)
{
	size_t i;

	for (i = 0; i < sizeof(pool_types) / sizeof(pool_types[0]); i++) {
		if (!strcmp(s, pool_types[i].name)) {
			*out = pool_types[i].value;
			return 0;
		}
	}
	return parse_u32(s, 0, UINT32_MAX, out);
}

/* Options every command takes */
enum { OPT_HELP = 'h' };

#define COMMON_OPTIONS { "help", no_argument, NULL, OPT_HELP }

/*
 * getopt_long with '+' (stop at the first operand, so "--" and a command
 * after it stay untouched) and ':' (we report missing arguments).
 */
static int next_opt(const struct command *c, int argc, char **argv,
		    const char *shortopts, const struct option *longopts,
		    int *usage_rc)
{
	int opt = getopt_long(argc, argv, shortopts, longopts, NULL);

	*usage_rc = 0;
	if (opt == '?') {
		if (optopt)
			*usage_rc = usage_error(c, "unknown option '-%c'", optopt);
		else
			*usage_rc = usage_error(c, "unknown option '%s'",
						argv[optind - 1]);
	} else if (opt == ':') {
		*usage_rc = usage_error(c, "option '%s' needs a value",
					argv[optind - 1]);
	}
	return opt;
}

static int open_pin(const char *what)
{
	int pin = ksa_open_pin();

	if (pin >= 0)
		return pin;
	if (pin == -ENOENT || pin == -ENODEV || pin == -ENXIO)
		msg("%s: cannot open %s: %s (is the ksalloc module loaded?)",
		    what, getenv("KSALLOC_DEVICE") ?: KSA_DEVICE_PATH,
		    strerror(-pin));
	else
		msg("%s: cannot open %s: %s", what,
		    getenv("KSALLOC_DEVICE") ?: KSA_DEVICE_PATH, strerror(-pin));
	return pin;
}

/* ------------------------------------------------------------------ */
/* status                                                             */

static int read_line(const char *path, char *buf, size_t size)
{
	FILE *f = fopen(path, "re");
	int ret = 0;

	if (!f)
		return -errno;
	if (!fgets(buf, size, f))
		ret = ferror(f) ? -EIO : -ENODATA;
	else
		buf[strcspn(buf, "\n")] = 0;
	fclose(f);
	return ret;
}

static int read_u64(const char *dir, const char *name, unsigned long long *v)
{
	char path[256], buf[64], *end;
	int ret;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	ret = read_line(path, buf, sizeof(buf));
	if (ret)
		return ret;
	errno = 0;
	*v = strtoull(buf, &end, 10);
	return (errno || *end || end == buf) ? -EINVAL : 0;
}

static const char status_header[] =
	"id\tpid\tcomm\tframes\tframe_size\tstride\tallocated\thigh_water\t"
	"waiters\tevents\tbytes\tresetting";

/* Split @line at tabs into at most @max fields; returns the count. */
static int split_tabs(char *line, char **field, int max)
{
	int n = 0;
	char *s = line;

	while (n < max) {
		field[n++] = s;
		s = strchr(s, '\t');
		if (!s)
			break;
		*s++ = 0;
	}
	return s ? max + 1 : n;
}

/* The debugfs table, reformatted; -errno if it cannot be read. */
static int print_debugfs_table(bool all_columns)
{
	char line[1024], *f[STATUS_COLUMNS + 1];
	FILE *in = fopen(DEBUGFS_STATUS, "re");
	bool header_ok = false;
	int rows = 0;

	if (!in)
		return -errno;
	if (fgets(line, sizeof(line), in)) {
		line[strcspn(line, "\n")] = 0;
		header_ok = !strcmp(line, status_header);
	}
	if (!header_ok) {
		/* not ABI: when the layout changed, show it as it is */
		printf("%s\n", line);
		while (fgets(line, sizeof(line), in))
			fputs(line, stdout);
		fclose(in);
		return 0;
	}
	printf("%6s %7s %-15s %6s %10s %8s %5s %5s %5s %6s %10s  %s\n",
	       "ID", "PID", "COMMAND", "FRAMES", "FRAME_SIZE", "STRIDE",
	       "USED", "HIGH", "WAIT", "EVENTS", "BYTES", "STATE");
	while (fgets(line, sizeof(line), in)) {
		line[strcspn(line, "\n")] = 0;
		if (line[0] == '#') {
			if (all_columns)
				printf("%s\n", line);
			continue;
		}
		if (split_tabs(line, f, STATUS_COLUMNS) != STATUS_COLUMNS) {
			printf("? %s\n", line);
			continue;
		}
		printf("%6s %7s %-15s %6s %10s %8s %5s %5s %5s %6s %10s  %s\n",
		       f[0], f[1], f[2], f[3], f[4], f[5], f[6], f[7], f[8],
		       f[9], f[10], strcmp(f[11], "0") ? "resetting" : "ok");
		rows++;
	}
	fclose(in);
	if (!rows)
		printf("(no allocators)\n");
	return 0;
}

static int debugfs_mounted(void)
{
	struct statfs s;

	return !statfs(DEBUGFS_DIR, &s) && s.f_type == DEBUGFS_MAGIC;
}

static int cmd_status(int argc, char **argv)
{
	static const struct option longopts[] = {
		COMMON_OPTIONS,
		{ "verbose", no_argument, NULL, 'v' },
		{}
	};
	const struct command *c = find_command("status");
	unsigned long long nalloc, total, max_total = 0, max_alloc = 0;
	unsigned long long max_frames = 0, max_events = 0, max_user = 0;
	bool verbose = false;
	int opt, urc, ret;

	while ((opt = next_opt(c, argc, argv, "+:hv", longopts, &urc)) != -1) {
		switch (opt) {
		case OPT_HELP:
			command_help(c, stdout);
			return 0;
		case 'v':
			verbose = true;
			break;
		default:
			return urc;
		}
	}
	if (optind < argc)
		return usage_error(c, "unexpected argument '%s'", argv[optind]);

	if (access(SYSFS_DIR, F_OK)) {
		msg("status: the ksalloc module is not loaded (no %s)", SYSFS_DIR);
		return 1;
	}
	ret = read_u64(SYSFS_DIR, "allocators", &nalloc);
	if (!ret)
		ret = read_u64(SYSFS_DIR, "total_bytes", &total);
	if (ret) {
		msg("status: cannot read %s: %s", SYSFS_DIR, strerror(-ret));
		return 1;
	}
	/* The parameters are informative; a missing one is shown as 0 */
	read_u64(PARAM_DIR, "max_total_bytes", &max_total);
	read_u64(PARAM_DIR, "max_allocator_bytes", &max_alloc);
	read_u64(PARAM_DIR, "max_frames", &max_frames);
	read_u64(PARAM_DIR, "max_events", &max_events);
	read_u64(PARAM_DIR, "max_user_bytes", &max_user);

	printf("allocators:  %llu\n", nalloc);
	printf("total bytes: %llu of %llu (max_total_bytes)\n", total, max_total);
	printf("limits:      max_allocator_bytes %llu, max_user_bytes %llu, "
	       "max_frames %llu, max_events %llu\n\n", max_alloc, max_user,
	       max_frames, max_events);

	ret = print_debugfs_table(verbose);
	if (!ret)
		return 0;
	if (!debugfs_mounted())
		msg("status: debugfs is not mounted on %s, so there is no "
		    "per-allocator table (mount -t debugfs none %s)",
		    DEBUGFS_DIR, DEBUGFS_DIR);
	else if (ret == -EACCES || ret == -EPERM)
		msg("status: cannot read %s: %s (debugfs is for root only)",
		    DEBUGFS_STATUS, strerror(-ret));
	else
		msg("status: cannot read %s: %s", DEBUGFS_STATUS, strerror(-ret));
	/* The totals above are what status promises; the table is extra. */
	return 0;
}

/* ------------------------------------------------------------------ */
/* create                                                             */

static volatile sig_atomic_t stop_hold;

static void on_hold_signal(int sig)
{
	stop_hold = 1;
}

static void sleep_seconds(double s)
{
	struct timespec ts;

	ts.tv_sec = (time_t)s;
	ts.tv_nsec = (long)((s - (double)ts.tv_sec) * 1e9);
	while (!stop_hold && nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static void print_allocator(int fd)
{
	struct ksalloc_allocator_info info;
	int ret = ksa_allocator_info(fd, &info);

	if (ret) {
		msg("cannot read the allocator's info: %s", errtext(ret));
		return;
	}
	printf("allocator %llu: fd %d, %u frames of %u bytes (stride %u), "
	       "mmap size %llu, %llu bytes held\n",
	       (unsigned long long)info.id, fd, info.frames, info.frame_size,
	       info.frame_stride, (unsigned long long)info.mmap_size,
	       (unsigned long long)info.bytes_held);
}

static int cmd_create(int argc, char **argv)
{
	static const struct option longopts[] = {
		COMMON_OPTIONS,
		{ "frames", required_argument, NULL, 'n' },
		{ "frame-size", required_argument, NULL, 's' },
		{ "alignment", required_argument, NULL, 'a' },
		{ "pool", required_argument, NULL, 'p' },
		{ "nonblock", no_argument, NULL, 'N' },
		{ "hold", required_argument, NULL, 'H' },
		{ "fd", required_argument, NULL, 'f' },
		{ "verbose", no_argument, NULL, 'v' },
		{}
	};
	const struct command *c = find_command("create");
	struct ksallocator_framing framing = { .pool_type = KS_POOL_NONPAGED };
	bool have_frames = false, have_size = false, nonblock = false;
	bool verbose = false, run_cmd;
	uint32_t alignment = 0, want_fd = 0;
	bool have_fd = false;
	double hold = -1;
	int opt, urc, pin, fd, ret;
	char buf[32];

	while ((opt = next_opt(c, argc, argv, "+:hn:s:a:p:NH:f:v", longopts,
			       &urc)) != -1) {
		switch (opt) {
		case OPT_HELP:
			command_help(c, stdout);
			return 0;
		case 'n':
			if (parse_u32(optarg, 1, UINT32_MAX, &framing.frames))
				return usage_error(c, "bad --frames '%s'", optarg);
			have_frames = true;
			break;
		case 's':
			if (parse_u32(optarg, 1, UINT32_MAX, &framing.frame_size))
				return usage_error(c, "bad --frame-size '%s'", optarg);
			have_size = true;
			break;
		case 'a':
			if (parse_u32(optarg, 1, 1u << 31, &alignment) ||
			    (alignment & (alignment - 1)))
				return usage_error(c, "bad --alignment '%s' (a power of two, in bytes)",
						   optarg);
			break;
		case 'p':
			if (parse_pool(optarg, &framing.pool_type))
				return usage_error(c, "bad --pool '%s'", optarg);
			break;
		case 'N':
			nonblock = true;
			break;
		case 'H':
			if (parse_seconds(optarg, 1e9, &hold))
				return usage_error(c, "bad --hold '%s' (seconds)", optarg);
			break;
		case 'f':
			if (parse_u32(optarg, 3, INT_MAX, &want_fd))
				return usage_error(c, "bad --fd '%s' (3 or more)", optarg);
			have_fd = true;
			break;
		case 'v':
			verbose = true;
			break;
		default:
			return urc;
		}
	}
	run_cmd = optind < argc && !strcmp(argv[optind - 1], "--");
	if (optind < argc && !run_cmd)
		return usage_error(c, "unexpected argument '%s' (a command goes after --)",
				   argv[optind]);
	if (!have_frames || !have_size)
		return usage_error(c, "--frames and --frame-size are required");
	if (run_cmd && hold >= 0)
		return usage_error(c, "--hold and a command exclude each other");
	if (have_fd && !run_cmd)
		return usage_error(c, "--fd is for a command after --");
	if (alignment)
		framing.file_alignment = alignment - 1;

	pin = open_pin("create");
	if (pin < 0)
		return 1;
	/* The fd must survive exec when there is a command to run. */
	ret = ksa_create_allocator(pin, &framing,
				   (nonblock ? O_NONBLOCK : 0) |
				   (run_cmd ? 0 : O_CLOEXEC), &fd);
	close(pin);
	if (ret) {
		msg("create: KsCreateAllocator(%u frames of %u bytes) failed: %s",
		    framing.frames, framing.frame_size, errtext(ret));
		return 1;
	}
	if (have_fd && (int)want_fd != fd) {
		if (dup2(fd, want_fd) < 0) {
			msg("create: dup2 to fd %u: %s", want_fd, strerror(errno));
			return 1;
		}
		close(fd);
		fd = want_fd;
	}

	if (!run_cmd) {
		print_allocator(fd);
		if (hold > 0) {
			struct sigaction sa = { .sa_handler = on_hold_signal };

			sigaction(SIGINT, &sa, NULL);
			sigaction(SIGTERM, &sa, NULL);
			printf("holding it for %g s (pid %d)\n", hold, getpid());
			fflush(stdout);
			sleep_seconds(hold);
		}
		close(fd);
		return 0;
	}

	if (verbose) {
		print_allocator(fd);
		fflush(stdout);
	}
	snprintf(buf, sizeof(buf), "%d", fd);
	setenv("KSALLOC_FD", buf, 1);
	execvp(argv[optind], &argv[optind]);
	ret = errno;
	msg("create: cannot run '%s': %s", argv[optind], strerror(ret));
	return ret == ENOENT ? 127 : 126;
}

/* ------------------------------------------------------------------ */
/* alloc / free demos                                                 */

struct demo_opts {
	uint32_t frames;
	uint32_t frame_size;
	uint32_t count;
	bool have_count;
};

static int demo_options(const struct command *c, int argc, char **argv,
			struct demo_opts *o, bool *done)
{
	static const struct option longopts[] = {
		COMMON_OPTIONS,
		{ "frames", required_argument, NULL, 'n' },
		{ "frame-size", required_argument, NULL, 's' },
		{ "count", required_argument, NULL, 'c' },
		{}
	};
	int opt, urc;

	*done = false;
	o->frames = 4;
	o->frame_size = 4096;
	o->have_count = false;
	while ((opt = next_opt(c, argc, argv, "+:hn:s:c:", longopts, &urc)) != -1) {
		switch (opt) {
		case OPT_HELP:
			command_help(c, stdout);
			*done = true;
			return 0;
		case 'n':
			if (parse_u32(optarg, 1, 1u << 20, &o->frames))
				return usage_error(c, "bad --frames '%s'", optarg);
			break;
		case 's':
			if (parse_u32(optarg, 1, UINT32_MAX, &o->frame_size))
				return usage_error(c, "bad --frame-size '%s'", optarg);
			break;
		case 'c':
			if (parse_u32(optarg, 1, 1u << 20, &o->count))
				return usage_error(c, "bad --count '%s'", optarg);
			o->have_count = true;
			break;
		default:
			return urc;
		}
	}
	if (optind < argc)
		return usage_error(c, "unexpected argument '%s'", argv[optind]);
	if (!o->have_count)
		o->count = o->frames;
	if (o->count > o->frames)
		return usage_error(c, "--count %u is more than --frames %u",
				   o->count, o->frames);
	return 0;
}

/* A fresh allocator of the demo's framing, mapped; NULL after a message */
static struct ksa_allocator *demo_allocator(const char *what,
					    const struct demo_opts *o)
{
	struct ksallocator_framing f = {
		.pool_type = KS_POOL_NONPAGED,
		.frames = o->frames,
		.frame_size = o->frame_size,
	};
	struct ksa_allocator *a;
	int pin, ret;

	pin = open_pin(what);
	if (pin < 0)
		return NULL;
	ret = ksa_allocator_create(pin, &f, 0, &a);
	close(pin);
	if (ret) {
		msg("%s: creating an allocator of %u frames of %u bytes: %s",
		    what, o->frames, o->frame_size, errtext(ret));
		return NULL;
	}
	printf("allocator %" PRIu64 ": %u frames of %u bytes, stride %u\n",
	       ksa_allocator_id(a), ksa_allocator_frames(a),
	       ksa_allocator_frame_size(a), ksa_allocator_frame_stride(a));
	return a;
}

static long allocated_now(struct ksa_allocator *a)
{
	struct ksstreamallocator_status st;
	int ret = ksa_allocator_status(ksa_allocator_fd(a), &st);

	return ret ? ret : (long)st.allocated_frames;
}

static int cmd_alloc(int argc, char **argv)
{
	const struct command *c = find_command("alloc");
	struct ksa_allocator *a;
	struct demo_opts o;
	void **frames;
	bool done;
	uint32_t i, n = 0;
	int rc, bad = 0;
	void *extra;

	rc = demo_options(c, argc, argv, &o, &done);
	if (rc || done)
		return rc;
	a = demo_allocator("alloc", &o);
	if (!a)
		return 1;
	frames = calloc(o.count, sizeof(*frames));
	if (!frames) {
		ksa_allocator_close(a);
		return 1;
	}
	for (n = 0; n < o.count; n++) {
		frames[n] = ksa_frame_alloc(a, KSA_FRAME_NONBLOCK);
		if (!frames[n]) {
			msg("alloc: frame %u: %s", n, errtext(-errno));
			bad = 1;
			break;
		}
		/* Write through the mapping, read back */
		snprintf(frames[n], ksa_allocator_frame_size(a),
			 "frame %u of allocator %" PRIu64, n, ksa_allocator_id(a));
		printf("  frame %u at offset %" PRId64 " (%p): \"%s\"\n", n,
		       ksa_frame_offset(a, frames[n]), frames[n],
		       (char *)frames[n]);
	}
	printf("allocated frames (KSPROPERTY_STREAMALLOCATOR_STATUS): %ld\n",
	       allocated_now(a));
	if (!bad && n == o.frames) {
		extra = ksa_frame_alloc(a, KSA_FRAME_NONBLOCK);
		if (extra) {
			msg("alloc: a frame beyond the %u there are", o.frames);
			ksa_frame_free(a, extra);
			bad = 1;
		} else {
			printf("one more, without waiting: %s\n", errtext(-errno));
		}
	}
	for (i = 0; i < n; i++) {
		rc = ksa_frame_free(a, frames[i]);
		if (rc) {
			msg("alloc: freeing frame %u: %s", i, errtext(rc));
			bad = 1;
		}
	}
	printf("freed %u frames; allocated now: %ld\n", n, allocated_now(a));
	free(frames);
	ksa_allocator_close(a);
	return bad;
}

static int cmd_free(int argc, char **argv)
{
	const struct command *c = find_command("free");
	struct ksa_allocator *a;
	struct ksa_event *ev;
	struct demo_opts o;
	uint64_t count = 0;
	void **frames;
	uint32_t i, n;
	bool done;
	int rc, bad = 0;

	rc = demo_options(c, argc, argv, &o, &done);
	if (rc || done)
		return rc;
	a = demo_allocator("free", &o);
	if (!a)
		return 1;
	frames = calloc(o.count, sizeof(*frames));
	if (!frames) {
		ksa_allocator_close(a);
		return 1;
	}
	for (n = 0; n < o.count; n++) {
		frames[n] = ksa_frame_alloc(a, KSA_FRAME_NONBLOCK);
		if (!frames[n]) {
			msg("free: allocating frame %u: %s", n, errtext(-errno));
			bad = 1;
			break;
		}
	}
	printf("allocated %u frames\n", n);
	rc = ksa_freeframe_enable(ksa_allocator_fd(a), 0, &ev);
	if (rc) {
		msg("free: enabling KSEVENT_STREAMALLOCATOR_FREEFRAME: %s",
		    errtext(rc));
		ev = NULL;
		bad = 1;
	} else {
		printf("KSEVENT_STREAMALLOCATOR_FREEFRAME enabled on eventfd %d\n",
		       ksa_event_fd(ev));
	}
	for (i = 0; i < n; i++) {
		rc = ksa_frame_free(a, frames[i]);
		if (rc) {
			msg("free: frame %u: %s", i, errtext(rc));
			bad = 1;
		}
	}
	printf("freed %u frames; allocated now: %ld\n", n, allocated_now(a));
	if (ev && n) {
		rc = ksa_event_wait(ev, 5000, &count);
		if (rc) {
			msg("free: waiting for FREEFRAME: %s", errtext(rc));
			bad = 1;
		} else {
			printf("FREEFRAME signalled %" PRIu64 " times\n", count);
			if (count != n) {
				msg("free: expected %u FREEFRAME signals", n);
				bad = 1;
			}
		}
	}
	if (n) {
		rc = ksa_frame_free(a, frames[0]);
		printf("freeing frame 0 again: %s\n",
		       rc ? errtext(rc) : "succeeded (wrong!)");
		if (rc != -EINVAL)
			bad = 1;
	}
	if (ev) {
		rc = ksa_event_disable(ev);
		if (rc) {
			msg("free: disabling the event: %s", errtext(rc));
			bad = 1;
		}
	}
	free(frames);
	ksa_allocator_close(a);
	return bad;
}

/* ------------------------------------------------------------------ */
/* stress                                                             */

#define HIST_BUCKETS	40	/* [2^b, 2^(b+1)) ns, up to 2^40 ns */

struct stress_thread {
	pthread_t thread;
	struct ksa_allocator *a;
	unsigned int batch;
	int64_t deadline_ns;
	uint64_t ops;
	uint64_t errors;
	int first_error;
	uint64_t hist[HIST_BUCKETS];
};

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void stress_error(struct stress_thread *t, int err)
{
	if (!t->errors++)
		t->first_error = err;
}

static void *stress_run(void *arg)
{
	struct stress_thread *t = arg;
	void *frames[KSALLOC_BATCH_MAX];
	int64_t t0, dt;
	int n, i, b, ret;

	while ((t0 = now_ns()) < t->deadline_ns) {
		if (t->batch > 1) {
			n = ksa_frame_alloc_batch(t->a, frames, t->batch, 0);
			if (n < 0) {
				stress_error(t, n);
				continue;
			}
		} else {
			frames[0] = ksa_frame_alloc(t->a, 0);
			if (!frames[0]) {
				stress_error(t, -errno);
				continue;
			}
			n = 1;
		}
		/* Touch every frame: the mapping must be usable */
		for (i = 0; i < n; i++)
			*(volatile uint32_t *)frames[i] = (uint32_t)t->ops + i;
		ret = n > 1 ? ksa_frame_free_batch(t->a, frames, n) :
			      ksa_frame_free(t->a, frames[0]);
		if (ret) {
			stress_error(t, ret);
			continue;
		}
		dt = now_ns() - t0;
		for (b = 0; b < HIST_BUCKETS - 1 && dt >= (2LL << b); b++)
			;
		t->hist[b]++;
		t->ops += n;
	}
	return NULL;
}

static const char *fmt_ns(double ns, char *buf, size_t size)
{
	if (ns < 1e3)
		snprintf(buf, size, "%.0f ns", ns);
	else if (ns < 1e6)
		snprintf(buf, size, "%.0f us", ns / 1e3);
	else if (ns < 1e9)
		snprintf(buf, size, "%.0f ms", ns / 1e6);
	else
		snprintf(buf, size, "%.0f s", ns / 1e9);
	return buf;
}

static void print_histogram(const uint64_t *hist)
{
	uint64_t max = 0;
	int b, lo = -1, hi = -1, width;
	char from[16], to[16];

	for (b = 0; b < HIST_BUCKETS; b++) {
		if (!hist[b])
			continue;
		if (lo < 0)
			lo = b;
		hi = b;
		if (hist[b] > max)
			max = hist[b];
	}
	printf("latency of one alloc + free round trip:\n");
	if (lo < 0) {
		printf("  (no samples)\n");
		return;
	}
	for (b = lo; b <= hi; b++) {
		width = (int)((hist[b] * 40 + max - 1) / max);
		printf("  [%7s, %7s) %10" PRIu64 " %.*s\n",
		       fmt_ns(b ? (double)(1ULL << b) : 0, from, sizeof(from)),
		       fmt_ns((double)(2ULL << b), to, sizeof(to)), hist[b],
		       width, "########################################");
	}
}

static int cmd_stress(int argc, char **argv)
{
	static const struct option longopts[] = {
		COMMON_OPTIONS,
		{ "threads", required_argument, NULL, 't' },
		{ "allocators", required_argument, NULL, 'A' },
		{ "seconds", required_argument, NULL, 'S' },
		{ "frames", required_argument, NULL, 'n' },
		{ "frame-size", required_argument, NULL, 's' },
		{ "batch", required_argument, NULL, 'b' },
		{}
	};
	const struct command *c = find_command("stress");
	struct ksallocator_framing f = {
		.pool_type = KS_POOL_NONPAGED, .frames = 4, .frame_size = 4096,
	};
	uint32_t threads = 4, nalloc = 1, batch = 1, i;
	struct ksa_allocator **allocs = NULL;
	struct stress_thread *t = NULL;
	uint64_t hist[HIST_BUCKETS] = { 0 }, ops = 0, errors = 0;
	int first_error = 0, opt, urc, pin = -1, ret, rc = 1, b;
	uint32_t started = 0;
	double seconds = 5, elapsed;
	int64_t t0;

	while ((opt = next_opt(c, argc, argv, "+:ht:A:S:n:s:b:", longopts,
			       &urc)) != -1) {
		switch (opt) {
		case OPT_HELP:
			command_help(c, stdout);
			return 0;
		case 't':
			if (parse_u32(optarg, 1, 1024, &threads))
				return usage_error(c, "bad --threads '%s' (1 to 1024)", optarg);
			break;
		case 'A':
			if (parse_u32(optarg, 1, 1024, &nalloc))
				return usage_error(c, "bad --allocators '%s' (1 to 1024)", optarg);
			break;
		case 'S':
			if (parse_seconds(optarg, 86400, &seconds) || seconds <= 0)
				return usage_error(c, "bad --seconds '%s'", optarg);
			break;
		case 'n':
			if (parse_u32(optarg, 1, UINT32_MAX, &f.frames))
				return usage_error(c, "bad --frames '%s'", optarg);
			break;
		case 's':
			if (parse_u32(optarg, 1, UINT32_MAX, &f.frame_size))
				return usage_error(c, "bad --frame-size '%s'", optarg);
			break;
		case 'b':
			if (parse_u32(optarg, 1, KSALLOC_BATCH_MAX, &batch))
				return usage_error(c, "bad --batch '%s' (1 to %d)",
						   optarg, KSALLOC_BATCH_MAX);
			break;
		default:
			return urc;
		}
	}
	if (optind < argc)
		return usage_error(c, "unexpected argument '%s'", argv[optind]);
	if (batch > f.frames)
		return usage_error(c, "--batch %u is more than --frames %u",
				   batch, f.frames);

	allocs = calloc(nalloc, sizeof(*allocs));
	t = calloc(threads, sizeof(*t));
	if (!allocs || !t) {
		msg("stress: out of memory");
		goto out;
	}
	pin = open_pin("stress");
	if (pin < 0)
		goto out;
	for (i = 0; i < nalloc; i++) {
		ret = ksa_allocator_create(pin, &f, 0, &allocs[i]);
		if (ret) {
			msg("stress: allocator %u of %u frames of %u bytes: %s",
			    i, f.frames, f.frame_size, errtext(ret));
			goto out;
		}
	}
	printf("stress: %u threads on %u allocators of %u frames x %u bytes, "
	       "batch %u, %g s\n", threads, nalloc, f.frames, f.frame_size,
	       batch, seconds);
	fflush(stdout);

	t0 = now_ns();
	for (i = 0; i < threads; i++) {
		t[i].a = allocs[i % nalloc];
		t[i].batch = batch;
		t[i].deadline_ns = t0 + (int64_t)(seconds * 1e9);
		ret = pthread_create(&t[i].thread, NULL, stress_run, &t[i]);
		if (ret) {
			msg("stress: starting thread %u: %s", i, strerror(ret));
			/* the ones running end at the deadline */
			break;
		}
		started++;
	}
	for (i = 0; i < started; i++)
		pthread_join(t[i].thread, NULL);
	elapsed = (double)(now_ns() - t0) / 1e9;

	for (i = 0; i < started; i++) {
		ops += t[i].ops;
		if (t[i].errors && !errors)
			first_error = t[i].first_error;
		errors += t[i].errors;
		for (b = 0; b < HIST_BUCKETS; b++)
			hist[b] += t[i].hist[b];
	}
	printf("frames allocated and freed: %" PRIu64 " in %.2f s: %.0f ops/s\n",
	       ops, elapsed, elapsed > 0 ? (double)ops / elapsed : 0.0);
	print_histogram(hist);
	rc = started == threads ? 0 : 1;
	if (errors) {
		msg("stress: %" PRIu64 " failed calls, the first: %s", errors,
		    errtext(first_error));
		rc = 1;
	}
	/* With every thread done, every frame must be back */
	for (i = 0; i < nalloc; i++) {
		long left = allocated_now(allocs[i]);

		if (left) {
			msg("stress: allocator %" PRIu64 " still has %ld frames "
			    "allocated after the run", ksa_allocator_id(allocs[i]),
			    left);
			rc = 1;
		}
	}
out:
	if (allocs)
		for (i = 0; i < nalloc; i++)
			ksa_allocator_close(allocs[i]);
	if (pin >= 0)
		close(pin);
	free(allocs);
	free(t);
	return rc;
}

/* ------------------------------------------------------------------ */

static int cmd_help(int argc, char **argv);

static const struct command commands[] = {
	{ "status", cmd_status, "[--verbose]",
	  "Show the module's totals (sysfs) and every live allocator (debugfs:\n"
	  "id, creating process, framing, frames in use, high water mark,\n"
	  "sleeping ALLOC callers, enabled events, bytes, reset state).\n"
	  "Without debugfs only the totals are shown, with a note saying so.\n"
	  "\n"
	  "  -v, --verbose   also the module-wide lines of the debugfs view\n" },
	{ "create", cmd_create,
	  "--frames N --frame-size BYTES [--alignment BYTES] [--pool TYPE]\n"
	  "                      [--nonblock] [--hold SECONDS | [--fd N] -- COMMAND [ARG...]]",
	  "Create an allocator (KsCreateAllocator) on a new pin.\n"
	  "\n"
	  "An allocator lives as long as a descriptor or mapping of it, so:\n"
	  "  -- COMMAND     run COMMAND (in place of ksalloc) with the allocator\n"
	  "                 open; its fd number is in $KSALLOC_FD; the exit\n"
	  "                 status is COMMAND's (127: not found, 126: not run)\n"
	  "  --hold SECONDS keep it for that long (SIGINT/SIGTERM end it early),\n"
	  "                 e.g. to look at it with 'ksalloc status'\n"
	  "  (neither)      create it, print it and release it: a framing check\n"
	  "\n"
	  "  -n, --frames N          frames that can be outstanding\n"
	  "  -s, --frame-size BYTES  bytes per frame (k, M suffixes)\n"
	  "  -a, --alignment BYTES   frame alignment, a power of two\n"
	  "  -p, --pool TYPE         nonpaged (default), paged,\n"
	  "                          nonpaged-cache-aligned, paged-cache-aligned,\n"
	  "                          nonpaged-nx, or a POOL_TYPE number\n"
	  "  -N, --nonblock          O_NONBLOCK: ALLOC fails with EAGAIN\n"
	  "  -f, --fd N              put the allocator on fd N (3 or more)\n"
	  "  -v, --verbose           describe the allocator before COMMAND\n" },
	{ "alloc", cmd_alloc, "[--frames N] [--frame-size BYTES] [--count K]",
	  "Demo: create an allocator (default 4 frames of 4096 bytes), allocate\n"
	  "K frames (default: all) as pointers into its mapping, write to them\n"
	  "and read back, show that one more fails with STATUS_PENDING when all\n"
	  "are taken, free them. Exit status 1 if anything differs.\n" },
	{ "free", cmd_free, "[--frames N] [--frame-size BYTES] [--count K]",
	  "Demo: allocate K frames, enable KSEVENT_STREAMALLOCATOR_FREEFRAME on\n"
	  "an eventfd, free the frames, show the event count (one per frame)\n"
	  "and that a second free of a frame fails with STATUS_INVALID_PARAMETER.\n" },
	{ "stress", cmd_stress,
	  "[--threads T] [--allocators A] [--seconds S] [--frames N]\n"
	  "                      [--frame-size BYTES] [--batch K]",
	  "T threads (default 4) share A allocators (default 1) round-robin;\n"
	  "each allocates a frame (or K with the batch methods), writes to it,\n"
	  "and frees it again, for S seconds (default 5, fractions allowed).\n"
	  "Threads sleep in ALLOC when their allocator is empty (N frames,\n"
	  "default 4). Prints frames per second and a histogram of the\n"
	  "round-trip latency. Exit status 1 on any failed call or a frame\n"
	  "left allocated at the end.\n" },
	{ "help", cmd_help, "[COMMAND]", "Help on COMMAND, or the command list.\n" },
};

#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static const struct command *find_command(const char *name)
{
	size_t i;

	for (i = 0; i < N_COMMANDS; i++)
		if (!strcmp(commands[i].name, name))
			return &commands[i];
	return NULL;
}

static int cmd_help(int argc, char **argv)
{
	const struct command *c;

	if (argc < 2) {
		fputs(main_usage, stdout);
		return 0;
	}
	if (argc > 2)
		return usage_error(find_command("help"), "too many arguments");
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		command_help(find_command("help"), stdout);
		return 0;
	}
	c = find_command(argv[1]);
	if (!c)
		return usage_error(NULL, "unknown command '%s'", argv[1]);
	command_help(c, stdout);
	return 0;
}

int main(int argc, char **argv)
{
	const struct command *c;

	if (argc < 2) {
		fputs(main_usage, stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		fputs(main_usage, stdout);
		return 0;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("ksalloc %s (libksalloc %d.%d)\n", KSA_VERSION,
		       KSA_LIB_VERSION_MAJOR, KSA_LIB_VERSION_MINOR);
		return 0;
	}
	c = find_command(argv[1]);
	if (!c) {
		if (argv[1][0] == '-')
			return usage_error(NULL, "unknown option '%s'", argv[1]);
		return usage_error(NULL, "unknown command '%s'", argv[1]);
	}
	/* The command sees itself as argv[0] */
	optind = 1;
	opterr = 0;
	return c->run(argc - 1, argv + 1);
}
