// SPDX-License-Identifier: GPL-2.0
/*
 * /dev/ksalloc as a device node: it exists, it is the misc character device
 * with mode 0666, every open gives an independent file, and the generic
 * file operations the pin does not implement fail the way the kernel makes
 * them fail (ENOTTY, ESPIPE, EINVAL).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/types.h>

#include <linux/ksalloc.h>

#include "kselftest_harness.h"

#define KSA_DEV		"/dev/ksalloc"
#define KSA_SYSFS_DEV	"/sys/class/misc/ksalloc/dev"
#define MISC_MAJOR	10

TEST(node_exists)
{
	struct stat st;

	ASSERT_EQ(0, stat(KSA_DEV, &st)) {
		TH_LOG("stat %s: %s (is the module loaded?)", KSA_DEV, strerror(errno));
	}
}

TEST(node_is_char_device)
{
	struct stat st;

	ASSERT_EQ(0, stat(KSA_DEV, &st));
	EXPECT_TRUE(S_ISCHR(st.st_mode));
}

TEST(node_mode_0666)
{
	struct stat st;

	ASSERT_EQ(0, stat(KSA_DEV, &st));
	EXPECT_EQ(0666, st.st_mode & 07777);
}

TEST(node_major_misc)
{
	struct stat st;

	ASSERT_EQ(0, stat(KSA_DEV, &st));
	EXPECT_EQ(MISC_MAJOR, major(st.st_rdev));
}

/* The node's numbers are the ones the misc core registered. */
TEST(node_matches_sysfs)
{
	unsigned int maj, min;
	struct stat st;
	FILE *f;

	ASSERT_EQ(0, stat(KSA_DEV, &st));
	f = fopen(KSA_SYSFS_DEV, "r");
	ASSERT_TRUE(f != NULL) {
		TH_LOG("open %s: %s", KSA_SYSFS_DEV, strerror(errno));
	}
	ASSERT_EQ(2, fscanf(f, "%u:%u", &maj, &min));
	fclose(f);
	EXPECT_EQ(maj, major(st.st_rdev));
	EXPECT_EQ(min, minor(st.st_rdev));
}

FIXTURE(dev)
{
	int fd;
};

FIXTURE_SETUP(dev)
{
	self->fd = open(KSA_DEV, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, self->fd) {
		TH_LOG("open %s: %s", KSA_DEV, strerror(errno));
	}
}

FIXTURE_TEARDOWN(dev)
{
	if (self->fd >= 0)
		close(self->fd);
}

TEST_F(dev, open_close)
{
	struct stat st;

	ASSERT_EQ(0, fstat(self->fd, &st));
	EXPECT_TRUE(S_ISCHR(st.st_mode));
	EXPECT_EQ(0, close(self->fd));
	self->fd = -1;
}

TEST_F(dev, open_readonly)
{
	int fd = open(KSA_DEV, O_RDONLY | O_CLOEXEC);

	ASSERT_LE(0, fd);
	EXPECT_EQ(0, close(fd));
}

/* A second open is a new file, not a shared one, and outlives neither. */
TEST_F(dev, reopen_independent)
{
	struct stat st1, st2;
	int fd2, fl1, fl2;

	fd2 = open(KSA_DEV, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, fd2);
	ASSERT_NE(self->fd, fd2);

	ASSERT_EQ(0, fstat(self->fd, &st1));
	ASSERT_EQ(0, fstat(fd2, &st2));
	EXPECT_EQ(st1.st_rdev, st2.st_rdev);

	/* File status flags live in the open file: changing one leaves the other. */
	fl2 = fcntl(fd2, F_GETFL);
	ASSERT_LE(0, fl2);
	ASSERT_EQ(0, fcntl(fd2, F_SETFL, fl2 | O_NONBLOCK));
	fl1 = fcntl(self->fd, F_GETFL);
	ASSERT_LE(0, fl1);
	EXPECT_EQ(0, fl1 & O_NONBLOCK);
	EXPECT_EQ(O_NONBLOCK, fcntl(fd2, F_GETFL) & O_NONBLOCK);

	/* Closing one leaves the other working. */
	EXPECT_EQ(0, close(fd2));
	EXPECT_EQ(-1, ioctl(self->fd, _IO('x', 1)));
	EXPECT_EQ(ENOTTY, errno);
}

TEST_F(dev, many_opens)
{
	int fds[16], i;

	for (i = 0; i < 16; i++) {
		fds[i] = open(KSA_DEV, O_RDWR | O_CLOEXEC);
		ASSERT_LE(0, fds[i]);
	}
	for (i = 0; i < 16; i++)
		EXPECT_EQ(0, close(fds[i]));
}

TEST_F(dev, unknown_ioctl_foreign_type)
{
	errno = 0;
	EXPECT_EQ(-1, ioctl(self->fd, _IO('x', 1)));
	EXPECT_EQ(ENOTTY, errno);
}

TEST_F(dev, unknown_ioctl_ks_type)
{
	errno = 0;
	EXPECT_EQ(-1, ioctl(self->fd, _IO(KS_IOCTL_TYPE, 0x3F)));
	EXPECT_EQ(ENOTTY, errno);

	errno = 0;
	EXPECT_EQ(-1, ioctl(self->fd, _IOWR(KS_IOCTL_TYPE, 0x3F, struct ks_ioctl_args)));
	EXPECT_EQ(ENOTTY, errno);
}

TEST_F(dev, lseek_espipe)
{
	errno = 0;
	EXPECT_EQ(-1, lseek(self->fd, 0, SEEK_SET));
	EXPECT_EQ(ESPIPE, errno);

	errno = 0;
	EXPECT_EQ(-1, lseek(self->fd, 0, SEEK_CUR));
	EXPECT_EQ(ESPIPE, errno);
}

/* No .read/.write: the VFS refuses with EINVAL before reaching the driver. */
TEST_F(dev, read_einval)
{
	char buf[16];

	errno = 0;
	EXPECT_EQ(-1, read(self->fd, buf, sizeof(buf)));
	EXPECT_EQ(EINVAL, errno);
}

TEST_F(dev, write_einval)
{
	char buf[16] = { 0 };

	errno = 0;
	EXPECT_EQ(-1, write(self->fd, buf, sizeof(buf)));
	EXPECT_EQ(EINVAL, errno);
}

TEST_HARNESS_MAIN
