// SPDX-License-Identifier: GPL-2.0
/*
 * libksalloc on the host, without the module: what must hold whether or
 * not /dev/ksalloc exists. Opening a missing node, fds that are not
 * ksalloc objects, the argument checks the library makes before any
 * system call, and the error texts: every row of the errno table in
 * <linux/ksalloc.h> (read from the header itself, so a row added there
 * without the library following fails here) must name its KS statuses,
 * and the NTSTATUS values of ks-compat.h must be the SDK's.
 *
 * Built and run by scripts/check-host.sh; KSA_UAPI_HEADER and
 * KSA_NTSTATUS_H are the files to read.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ks-compat.h"
#include "libksalloc.h"
#include "kselftest_harness.h"

#ifndef KSA_UAPI_HEADER
#define KSA_UAPI_HEADER "uapi/linux/ksalloc.h"
#endif
#ifndef KSA_NTSTATUS_H
#define KSA_NTSTATUS_H "/usr/share/mingw-w64/include/ntstatus.h"
#endif

static const struct ksguid g_stream = KSPROPSETID_Stream;

/* errno names the uapi table may use */
static const struct {
	const char *name;
	int value;
} errnos[] = {
	{ "ENOENT", ENOENT }, { "EOPNOTSUPP", EOPNOTSUPP },
	{ "EOVERFLOW", EOVERFLOW }, { "EINVAL", EINVAL }, { "EBADF", EBADF },
	{ "EFAULT", EFAULT }, { "EAGAIN", EAGAIN }, { "ECANCELED", ECANCELED },
	{ "EBUSY", EBUSY }, { "ENOMEM", ENOMEM }, { "ENOTTY", ENOTTY },
	{ "ENOSPC", ENOSPC }, { "EPERM", EPERM }, { "EACCES", EACCES },
	{ "EINTR", EINTR }, { "ENODEV", ENODEV }, { "E2BIG", E2BIG },
	{ "ENXIO", ENXIO }, { "ETIMEDOUT", ETIMEDOUT }, { "EMFILE", EMFILE },
};

/* ks-compat.h's NTSTATUS constants, by name */
#define S(x) { #x, x }
static const struct {
	const char *name;
	NTSTATUS value;
} statuses[] = {
	S(STATUS_SUCCESS), S(STATUS_ALERTED), S(STATUS_TIMEOUT),
	S(STATUS_PENDING), S(STATUS_BUFFER_OVERFLOW), S(STATUS_UNSUCCESSFUL),
	S(STATUS_ACCESS_VIOLATION), S(STATUS_INVALID_HANDLE),
	S(STATUS_INVALID_PARAMETER), S(STATUS_NO_SUCH_DEVICE),
	S(STATUS_INVALID_DEVICE_REQUEST), S(STATUS_ACCESS_DENIED),
	S(STATUS_BUFFER_TOO_SMALL), S(STATUS_OBJECT_TYPE_MISMATCH),
	S(STATUS_INSUFFICIENT_RESOURCES), S(STATUS_NOT_SUPPORTED),
	S(STATUS_TOO_MANY_OPENED_FILES), S(STATUS_CANCELLED),
	S(STATUS_INVALID_DEVICE_STATE), S(STATUS_INVALID_BUFFER_SIZE),
	S(STATUS_NOT_FOUND), S(STATUS_PROPSET_NOT_FOUND),
};
#undef S

static int errno_value(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(errnos) / sizeof(errnos[0]); i++)
		if (!strcmp(errnos[i].name, name))
			return errnos[i].value;
	return -1;
}

static int status_value(const char *name, NTSTATUS *v)
{
	size_t i;

	for (i = 0; i < sizeof(statuses) / sizeof(statuses[0]); i++) {
		if (!strcmp(statuses[i].name, name)) {
			*v = statuses[i].value;
			return 0;
		}
	}
	return -1;
}

/* One row of the header's table: its statuses and its errno */
struct row {
	char status[4][48];
	int nstatus;
	char err[16];
};

/*
 * The table sits in the header's top comment between the line starting
 * "KS status" and the first empty comment line. A STATUS_ name on a line
 * without an errno continues the row above.
 */
static int read_table(const char *path, struct row *rows, int max)
{
	char line[256], word[64], *p;
	int n = 0, in = 0, off;
	FILE *f = fopen(path, "re");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		p = line;
		while (*p == ' ' || *p == '*' || *p == '/')
			p++;
		if (!in) {
			in = !strncmp(p, "KS status", 9);
			continue;
		}
		if (*p == '\n' || !*p)
			break;
		/* first column: statuses; the errno is the next E... word */
		struct row cur = { .nstatus = 0 };
		int has_err = 0;

		while (sscanf(p, "%63s%n", word, &off) == 1) {
			size_t len = strlen(word);

			if (word[len - 1] == ',')
				word[--len] = 0;
			if (!strncmp(word, "STATUS_", 7) && cur.nstatus < 4) {
				snprintf(cur.status[cur.nstatus++], 48, "%s", word);
			} else if (word[0] == 'E' && len > 2 &&
				   strspn(word, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") == len) {
				snprintf(cur.err, sizeof(cur.err), "%s", word);
				has_err = 1;
				break;
			} else if (cur.nstatus) {
				break;	/* description text */
			}
			p += off;
		}
		if (has_err) {
			if (n == max)
				break;
			rows[n++] = cur;
		} else if (n && cur.nstatus) {
			struct row *r = &rows[n - 1];
			int i;

			for (i = 0; i < cur.nstatus && r->nstatus < 4; i++)
				strcpy(r->status[r->nstatus++], cur.status[i]);
		}
	}
	fclose(f);
	return n;
}

/* Every errno of the uapi table has a text naming its KS statuses */
TEST(strerror_covers_uapi_table)
{
	struct row rows[32];
	const char *text;
	NTSTATUS want;
	int n, i, j, e;

	n = read_table(KSA_UAPI_HEADER, rows, 32);
	ASSERT_LT(8, n) {
		TH_LOG("could not read the errno table of %s", KSA_UAPI_HEADER);
	}
	for (i = 0; i < n; i++) {
		e = errno_value(rows[i].err);
		EXPECT_LT(0, e) {
			TH_LOG("the uapi table's %s is not known to this test",
			       rows[i].err);
		}
		if (e < 0)
			continue;
		text = ksa_strerror(-e);
		ASSERT_NE(NULL, text);
		EXPECT_EQ(text, ksa_strerror(e));
		/* the table's own row for success is errno 0 */
		for (j = 0; j < rows[i].nstatus; j++) {
			EXPECT_NE(NULL, strstr(text, rows[i].status[j])) {
				TH_LOG("ksa_strerror(-%s) = \"%s\" does not name %s",
				       rows[i].err, text, rows[i].status[j]);
			}
		}
		/*
		 * The first status of the errno's first row is what
		 * ksa_ntstatus() gives (an errno may have several rows).
		 */
		for (j = 0; j < i; j++)
			if (!strcmp(rows[j].err, rows[i].err))
				break;
		if (j == i && rows[i].nstatus) {
			ASSERT_EQ(0, status_value(rows[i].status[0], &want)) {
				TH_LOG("ks-compat.h lacks %s", rows[i].status[0]);
			}
			EXPECT_EQ((uint32_t)want, ksa_ntstatus(-e)) {
				TH_LOG("ksa_ntstatus(-%s) is not %s", rows[i].err,
				       rows[i].status[0]);
			}
		}
	}
}

/* The texts of the brief table and of the library's own errors */
TEST(strerror_texts)
{
	EXPECT_EQ(0, strncmp(ksa_strerror(-ENOENT),
			     "STATUS_PROPSET_NOT_FOUND / STATUS_NOT_FOUND: unknown set or id",
			     62));
	EXPECT_STREQ("STATUS_PENDING: no frame free", ksa_strerror(-EAGAIN));
	EXPECT_EQ(0, strncmp(ksa_strerror(-EOVERFLOW), "STATUS_BUFFER_OVERFLOW", 22));
	EXPECT_EQ(0, strncmp(ksa_strerror(0), "STATUS_SUCCESS", 14));
	EXPECT_EQ(STATUS_SUCCESS, (NTSTATUS)ksa_ntstatus(0));
	EXPECT_EQ(0, strncmp(ksa_strerror(-ETIMEDOUT), "STATUS_TIMEOUT", 14));
	EXPECT_EQ(STATUS_TIMEOUT, (NTSTATUS)ksa_ntstatus(-ETIMEDOUT));
	EXPECT_EQ(STATUS_ALERTED, (NTSTATUS)ksa_ntstatus(-EINTR));
	/* anything else: STATUS_UNSUCCESSFUL, never NULL */
	EXPECT_EQ(0, strncmp(ksa_strerror(-EXDEV), "STATUS_UNSUCCESSFUL", 19));
	EXPECT_EQ(STATUS_UNSUCCESSFUL, (NTSTATUS)ksa_ntstatus(-EXDEV));
	EXPECT_NE(NULL, ksa_strerror(-100000));
	EXPECT_NE(NULL, ksa_strerror(-2147483647));
	/* EWOULDBLOCK and ENOTSUP are the same numbers on Linux */
	EXPECT_EQ(ksa_strerror(-EAGAIN), ksa_strerror(-EWOULDBLOCK));
	EXPECT_EQ(ksa_strerror(-EOPNOTSUPP), ksa_strerror(-ENOTSUP));
}

/* ks-compat.h's NTSTATUS values against the SDK's ntstatus.h */
TEST(ntstatus_values_match_sdk)
{
	char line[256], name[64];
	unsigned int value;
	NTSTATUS ours;
	int found = 0;
	FILE *f = fopen(KSA_NTSTATUS_H, "re");

	if (!f)
		SKIP(return, "no %s (mingw-w64-common)", KSA_NTSTATUS_H);
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "#define %63s ((NTSTATUS)%x)", name, &value) != 2)
			continue;
		if (status_value(name, &ours))
			continue;
		found++;
		EXPECT_EQ(value, (unsigned int)ours) {
			TH_LOG("%s: ours %#x, the SDK's %#x", name,
			       (unsigned int)ours, value);
		}
	}
	fclose(f);
	EXPECT_EQ(sizeof(statuses) / sizeof(statuses[0]), found);
}

/* A node that is not there: -ENOENT, from the default path too */
TEST(open_missing_node)
{
	EXPECT_EQ(-ENOENT, ksa_open_pin_path("/nonexistent/ksalloc", O_CLOEXEC));
	ASSERT_EQ(0, setenv("KSALLOC_DEVICE", "/nonexistent/ksalloc", 1));
	EXPECT_EQ(-ENOENT, ksa_open_pin());
	unsetenv("KSALLOC_DEVICE");
	if (access(KSA_DEVICE_PATH, F_OK) == 0)
		SKIP(return, "%s exists on this machine", KSA_DEVICE_PATH);
	EXPECT_EQ(-ENOENT, ksa_open_pin());
}

/* fds that are not ksalloc objects, and fds that are not open */
TEST(not_ksalloc_fds)
{
	struct ksallocator_framing f = { .frames = 1, .frame_size = 4096 };
	struct ksa_allocator *a = (void *)1;
	struct ksa_event *ev = (void *)1;
	__u32 state, returned = 5;
	int fd, p[2], out = 5;

	fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, fd);
	EXPECT_EQ(-ENOTTY, ksa_pin_get_state(fd, &state));
	EXPECT_EQ(-ENOTTY, ksa_property(fd, &g_stream, 0, KSPROPERTY_TYPE_GET,
					NULL, 0, &returned));
	EXPECT_EQ(0, returned);
	EXPECT_EQ(-ENOTTY, ksa_create_allocator(fd, &f, 0, &out));
	EXPECT_EQ(-1, out);
	EXPECT_EQ(-ENOTTY, ksa_allocator_open(fd, 0, &a));
	EXPECT_EQ(NULL, a);
	EXPECT_EQ(-ENOTTY, ksa_freeframe_enable(fd, 0, &ev));
	EXPECT_EQ(NULL, ev);
	EXPECT_EQ(-ENOTTY, ksa_reset_state(fd, KSRESET_BEGIN));
	errno = 0;
	EXPECT_EQ(STATUS_INVALID_DEVICE_REQUEST, KsCreateAllocator(fd, &f, &out));
	EXPECT_EQ(ENOTTY, errno);
	close(fd);

	ASSERT_EQ(0, pipe2(p, O_CLOEXEC));
	EXPECT_EQ(-ENOTTY, ksa_pin_set_state(p[0], KSSTATE_RUN));
	close(p[0]);
	close(p[1]);

	/* closed, negative */
	EXPECT_EQ(-EBADF, ksa_pin_get_state(p[0], &state));
	EXPECT_EQ(-EBADF, ksa_pin_get_state(-1, &state));
	EXPECT_EQ(-EBADF, ksa_freeframe_enable(-1, 0, &ev));
	errno = 0;
	EXPECT_EQ(STATUS_INVALID_HANDLE, KsCreateAllocator(-1, &f, &out));
	EXPECT_EQ(EBADF, errno);
	EXPECT_EQ(STATUS_INVALID_HANDLE,
		  KsSynchronousDeviceControl(-1, IOCTL_KS_PROPERTY, NULL, 0,
					     NULL, 0, &returned));
}

/* The caller's bugs are -EINVAL before any system call */
TEST(argument_checks)
{
	struct ksallocator_framing f = { .frames = 1, .frame_size = 4096 };
	struct ksallocator_framing_ex ex;
	struct ksa_event *ev;
	struct ksa_allocator *a;
	struct ksguid *sets;
	unsigned int n;
	char buf[8];
	void *data, *fr[2] = { buf, buf };
	__u32 size;
	int fd = -1;

	/* fd -1 would give -EBADF: -EINVAL means we did not get that far */
	EXPECT_EQ(-EINVAL, ksa_request(-1, IOCTL_KS_PROPERTY, NULL, 24, NULL, 0, 0, NULL));
	EXPECT_EQ(-EINVAL, ksa_request(-1, IOCTL_KS_PROPERTY, buf, 8, NULL, 8, 0, NULL));
	EXPECT_EQ(-EINVAL, ksa_property(-1, NULL, 0, KSPROPERTY_TYPE_GET, buf, 8, NULL));
	EXPECT_EQ(-EINVAL, ksa_method(-1, NULL, 0, 0, NULL, 0, NULL));
	EXPECT_EQ(-EINVAL, ksa_property_alloc(-1, &g_stream, 0, 0, NULL, &size));
	EXPECT_EQ(-EINVAL, ksa_property_alloc(-1, &g_stream, 0, 0, &data, NULL));
	EXPECT_EQ(-EINVAL, ksa_method_alloc(-1, NULL, 0, 0, &data, &size));
	EXPECT_EQ(-EINVAL, ksa_enable_event(-1, &g_stream, 0, 0, NULL));
	EXPECT_EQ(-EINVAL, ksa_set_supported(-1, KSA_KIND_PROPERTY, NULL));
	EXPECT_EQ(-EINVAL, ksa_set_supported(-1, (enum ksa_kind)7, &g_stream));
	EXPECT_EQ(-EINVAL, ksa_supported_sets(-1, KSA_KIND_EVENT, NULL, &n));
	EXPECT_EQ(-EINVAL, ksa_supported_sets(-1, (enum ksa_kind)7, &sets, &n));
	EXPECT_EQ(-EINVAL, ksa_basic_support(-1, KSA_KIND_METHOD, NULL, 0, NULL, NULL));
	EXPECT_EQ(-EINVAL, ksa_create_allocator(-1, NULL, 0, &fd));
	EXPECT_EQ(-EINVAL, ksa_create_allocator(-1, &f, 0, NULL));
	memset(&ex, 0, sizeof(ex));
	EXPECT_EQ(-EINVAL, ksa_create_allocator_ex(-1, &ex, 0, &fd));
	ex.count_items = 100;
	EXPECT_EQ(-EINVAL, ksa_create_allocator_ex(-1, &ex, 0, &fd));
	EXPECT_EQ(-EINVAL, ksa_allocator_status(-1, NULL));
	EXPECT_EQ(-EINVAL, ksa_allocator_info(-1, NULL));
	EXPECT_EQ(-EINVAL, ksa_pin_get_allocator(-1, 0, NULL));
	EXPECT_EQ(-EINVAL, ksa_pin_get_state(-1, NULL));
	EXPECT_EQ(-EINVAL, ksa_pin_set_framing(-1, NULL));
	EXPECT_EQ(-EINVAL, ksa_pin_get_framing(-1, NULL));
	EXPECT_EQ(-EINVAL, ksa_pin_get_framing_ex(-1, NULL, &size));
	EXPECT_EQ(-EINVAL, ksa_allocator_open(-1, 0, NULL));
	EXPECT_EQ(-EINVAL, ksa_allocator_open(-1, 0x10, &a));
	EXPECT_EQ(-EINVAL, ksa_allocator_create(-1, &f, 0, NULL));
	errno = 0;
	EXPECT_EQ(STATUS_INVALID_PARAMETER, KsCreateAllocator(-1, NULL, &fd));
	EXPECT_EQ(EINVAL, errno);

	/* NULL allocator objects */
	errno = 0;
	EXPECT_EQ(NULL, ksa_frame_alloc(NULL, 0));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-EINVAL, ksa_frame_free(NULL, buf));
	EXPECT_EQ(-EINVAL, ksa_frame_alloc_batch(NULL, fr, 1, 0));
	EXPECT_EQ(-EINVAL, ksa_frame_free_batch(NULL, fr, 2));
	EXPECT_EQ(-1, ksa_frame_offset(NULL, buf));
	EXPECT_EQ(NULL, ksa_frame_at(NULL, 0));
	EXPECT_EQ(-EINVAL, ksa_allocator_fd(NULL));
	EXPECT_EQ(0, ksa_allocator_frames(NULL));
	EXPECT_EQ(0, ksa_allocator_frame_size(NULL));
	EXPECT_EQ(0, ksa_allocator_frame_stride(NULL));
	EXPECT_EQ(0, ksa_allocator_id(NULL));
	ksa_allocator_close(NULL);

	/* events */
	EXPECT_EQ(-EINVAL, ksa_event_enable(-1, NULL, 1, 0, 0, &ev));
	EXPECT_EQ(-EINVAL, ksa_event_enable(-1, &g_stream, 1, 0x8, 0, &ev));
	EXPECT_EQ(-EINVAL, ksa_event_enable(-1, &g_stream, 1, 0, 2, &ev));
	EXPECT_EQ(-EINVAL, ksa_event_enable(-1, &g_stream, 1, 0, 0, NULL));
	EXPECT_EQ(-EINVAL, ksa_freeframe_enable(-1, 0x8, &ev));
	EXPECT_EQ(-EINVAL, ksa_event_fd(NULL));
	EXPECT_EQ(-EINVAL, ksa_event_wait(NULL, 0, NULL));
	EXPECT_EQ(0, ksa_event_disable(NULL));
}

TEST_HARNESS_MAIN
